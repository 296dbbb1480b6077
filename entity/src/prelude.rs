//! The entities under their Prisma model names.

pub use crate::ab_test::Entity as AbTest;
pub use crate::account::Entity as Account;
pub use crate::agent::Entity as Agent;
pub use crate::agent_execution::Entity as AgentExecution;
pub use crate::analytics::Entity as Analytics;
pub use crate::campaign::Entity as Campaign;
pub use crate::content::Entity as Content;
pub use crate::design_template::Entity as DesignTemplate;
pub use crate::lead::Entity as Lead;
pub use crate::session::Entity as Session;
pub use crate::trend::Entity as Trend;
pub use crate::user::Entity as User;
pub use crate::verification_token::Entity as VerificationToken;
