//! A first pass through the service on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use api_tests::both_backends;
use entity::enums::{CampaignType, UserRole};
use service::{CampaignRepository, NewCampaign, NewUser, UserRepository};

both_backends! {
    async fn create_and_query(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut input = NewUser::new("a@example.com");
        input.role = UserRole::Manager;
        let u = neon.users().create(input).await.unwrap();
        let listed = neon.users().by_role(UserRole::Manager, None).await.unwrap();
        assert_eq!(listed.as_slice(), std::slice::from_ref(&u));
        let c = neon.campaigns().create(NewCampaign::new(&u.id, "c", CampaignType::Ads)).await.unwrap();
        let list = neon.campaigns().by_user_and_status(&u.id, None, None).await.unwrap();
        assert_eq!(list[0].campaign, c);
        assert!(list[0].latest_analytics.is_none());
    }
}
