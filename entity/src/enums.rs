//! The enums of the Prisma model, one Rust enum each.
//!
//! On PostgreSQL each is a native enum type with Prisma's name and values
//! (`"UserRole"`, `'ADMIN'`, ...); on SQLite the same values are stored as
//! TEXT. Every enum has `Display` (the database value), `FromStr` (whose
//! error lists the valid values) and an `ALL` list in declaration order.

use std::fmt;

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// An enum string that names no variant of the enum it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEnumValue {
    /// The database name of the enum type, for example `UserRole`.
    pub enum_name: &'static str,
    /// The string that was given.
    pub value: String,
    /// Every valid value, in declaration order.
    pub valid: &'static [&'static str],
}

impl fmt::Display for UnknownEnumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} value {:?}; valid values are: {}",
            self.enum_name,
            self.value,
            self.valid.join(", ")
        )
    }
}

impl std::error::Error for UnknownEnumValue {}

/// Declares one database enum: the Rust enum with its SeaORM and serde
/// derives, `ALL`, `VALUES`, `as_str`, `Display` and `FromStr`.
macro_rules! db_enum {
    (
        $(#[$meta:meta])*
        $name:ident = $db_name:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            EnumIter, DeriveActiveEnum, Serialize, Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = $db_name)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[sea_orm(string_value = $value)]
                #[serde(rename = $value)]
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in the order the Prisma schema declares them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every database value, in the order the Prisma schema declares them.
            pub const VALUES: &'static [&'static str] = &[$($value),+];
            /// The name of the database enum type.
            pub const DB_NAME: &'static str = $db_name;

            /// The value as stored in the database (`"ADMIN"`, `"SOCIAL_MEDIA"`, ...).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownEnumValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($value => Ok($name::$variant),)+
                    _ => Err(UnknownEnumValue {
                        enum_name: $db_name,
                        value: s.to_owned(),
                        valid: Self::VALUES,
                    }),
                }
            }
        }
    };
}

db_enum! {
    /// What a user may do in NeonHub.
    UserRole = "UserRole" {
        /// Full control.
        Admin = "ADMIN",
        /// Manages campaigns and people.
        Manager = "MANAGER",
        /// The default role.
        User = "USER",
        /// Read only.
        Viewer = "VIEWER",
    }
}

db_enum! {
    /// The kind of a marketing campaign.
    CampaignType = "CampaignType" {
        /// Social media campaign.
        SocialMedia = "SOCIAL_MEDIA",
        /// E-mail campaign.
        Email = "EMAIL",
        /// Paid advertising.
        Ads = "ADS",
        /// Content marketing.
        Content = "CONTENT",
        /// Influencer campaign.
        Influencer = "INFLUENCER",
        /// Event.
        Event = "EVENT",
        /// Product launch.
        ProductLaunch = "PRODUCT_LAUNCH",
    }
}

db_enum! {
    /// Where a campaign is in its life cycle.
    CampaignStatus = "CampaignStatus" {
        /// Being written (the default).
        Draft = "DRAFT",
        /// Running.
        Active = "ACTIVE",
        /// Paused.
        Paused = "PAUSED",
        /// Finished.
        Completed = "COMPLETED",
        /// Cancelled.
        Cancelled = "CANCELLED",
    }
}

db_enum! {
    /// A channel content and campaigns are published on.
    Platform = "Platform" {
        /// Facebook.
        Facebook = "FACEBOOK",
        /// Instagram.
        Instagram = "INSTAGRAM",
        /// TikTok.
        Tiktok = "TIKTOK",
        /// Twitter / X.
        Twitter = "TWITTER",
        /// LinkedIn.
        Linkedin = "LINKEDIN",
        /// YouTube.
        Youtube = "YOUTUBE",
        /// E-mail.
        Email = "EMAIL",
        /// A website.
        Website = "WEBSITE",
        /// Shopify.
        Shopify = "SHOPIFY",
        /// Google Ads.
        GoogleAds = "GOOGLE_ADS",
        /// Meta Ads.
        MetaAds = "META_ADS",
    }
}

db_enum! {
    /// What an AI agent does.
    AgentType = "AgentType" {
        /// Writes content.
        Content = "CONTENT",
        /// Runs ads.
        Ad = "AD",
        /// Does outreach.
        Outreach = "OUTREACH",
        /// Detects trends.
        Trend = "TREND",
        /// Produces insights.
        Insight = "INSIGHT",
        /// Designs.
        Design = "DESIGN",
    }
}

db_enum! {
    /// Whether an agent is in service.
    AgentStatus = "AgentStatus" {
        /// In service (the default).
        Active = "ACTIVE",
        /// Switched off.
        Inactive = "INACTIVE",
        /// Under maintenance.
        Maintenance = "MAINTENANCE",
        /// Retired.
        Deprecated = "DEPRECATED",
    }
}

db_enum! {
    /// Where an agent execution is.
    ExecutionStatus = "ExecutionStatus" {
        /// Queued (the default).
        Pending = "PENDING",
        /// Running.
        Running = "RUNNING",
        /// Finished successfully.
        Completed = "COMPLETED",
        /// Finished with an error.
        Failed = "FAILED",
        /// Cancelled.
        Cancelled = "CANCELLED",
    }
}

db_enum! {
    /// What an analytics row measures.
    AnalyticsType = "AnalyticsType" {
        /// Engagement.
        Engagement = "ENGAGEMENT",
        /// Reach.
        Reach = "REACH",
        /// Conversions.
        Conversion = "CONVERSION",
        /// Revenue.
        Revenue = "REVENUE",
        /// Clicks.
        Clicks = "CLICKS",
        /// Impressions.
        Impressions = "IMPRESSIONS",
        /// Sentiment.
        Sentiment = "SENTIMENT",
        /// Overall performance.
        Performance = "PERFORMANCE",
    }
}

db_enum! {
    /// Where an A/B test is.
    AbTestStatus = "ABTestStatus" {
        /// Being set up.
        Draft = "DRAFT",
        /// Running (the default).
        Running = "RUNNING",
        /// Finished.
        Completed = "COMPLETED",
        /// Stopped early.
        Stopped = "STOPPED",
    }
}

db_enum! {
    /// The format of a piece of content.
    ContentType = "ContentType" {
        /// A post.
        Post = "POST",
        /// A story.
        Story = "STORY",
        /// A reel.
        Reel = "REEL",
        /// A video.
        Video = "VIDEO",
        /// An e-mail.
        Email = "EMAIL",
        /// An ad.
        Ad = "AD",
        /// A blog article.
        Blog = "BLOG",
        /// A product page.
        Product = "PRODUCT",
    }
}

db_enum! {
    /// Where a piece of content is in its life cycle.
    ContentStatus = "ContentStatus" {
        /// Being written (the default).
        Draft = "DRAFT",
        /// Scheduled.
        Scheduled = "SCHEDULED",
        /// Published.
        Published = "PUBLISHED",
        /// Archived.
        Archived = "ARCHIVED",
    }
}

db_enum! {
    /// Where a lead is in the sales pipeline.
    LeadStatus = "LeadStatus" {
        /// New (the default).
        New = "NEW",
        /// Contacted.
        Contacted = "CONTACTED",
        /// Qualified.
        Qualified = "QUALIFIED",
        /// Converted.
        Converted = "CONVERTED",
        /// Lost.
        Lost = "LOST",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_from_str_round_trip_every_value() {
        for p in Platform::ALL {
            assert_eq!(p.to_string().parse::<Platform>(), Ok(*p));
        }
        assert_eq!(CampaignType::ProductLaunch.to_string(), "PRODUCT_LAUNCH");
    }

    #[test]
    fn unknown_value_lists_the_valid_ones() {
        let err = "SUPERUSER".parse::<UserRole>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown UserRole value \"SUPERUSER\"; valid values are: ADMIN, MANAGER, USER, VIEWER"
        );
        assert!(
            "admin".parse::<UserRole>().is_err(),
            "values are case-sensitive"
        );
    }

    #[test]
    fn serde_uses_the_database_values() {
        let json = serde_json::to_string(&AbTestStatus::Running).unwrap();
        assert_eq!(json, "\"RUNNING\"");
        assert_eq!(AbTestStatus::DB_NAME, "ABTestStatus");
    }
}
