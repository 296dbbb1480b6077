//! Users.

use std::sync::Arc;

use async_trait::async_trait;
use entity::enums::UserRole;
use entity::{Timestamp, user};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Repo, delete_by_id, get_by_id, now, set_if, update_by_id};
use crate::change::{Change, ChangeKind};
use crate::error::Result;
use crate::queries::UsersByRole;
use crate::{ids, validate};

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Unique e-mail address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Role (Prisma's default is `USER`).
    pub role: UserRole,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// When the address was verified.
    pub email_verified: Option<Timestamp>,
}

impl NewUser {
    /// A user with the default role and nothing optional set.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            name: None,
            role: UserRole::User,
            avatar: None,
            email_verified: None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate::email("email", &self.email)?;
        validate::opt_text("name", self.name.as_deref(), validate::MAX_TEXT_LEN)?;
        validate::opt_text("avatar", self.avatar.as_deref(), validate::MAX_TEXT_LEN)?;
        validate::opt_timestamp("email_verified", self.email_verified)
    }
}

/// Changes to a user; `None` leaves a field as it is, `Some(None)` clears a
/// nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserUpdate {
    /// New e-mail address.
    pub email: Option<String>,
    /// New display name.
    pub name: Option<Option<String>>,
    /// New role.
    pub role: Option<UserRole>,
    /// New avatar.
    pub avatar: Option<Option<String>>,
    /// New verification time.
    pub email_verified: Option<Option<Timestamp>>,
}

/// Users: writes and the users-by-role query.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Creates a user.
    ///
    /// # Errors
    /// `Invalid` for a bad e-mail or oversized text; `Conflict` if the
    /// e-mail is taken.
    async fn create(&self, input: NewUser) -> Result<user::Model>;
    /// The user with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<user::Model>;
    /// Updates a user; `updatedAt` is set to now.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `Conflict` (e-mail taken).
    async fn update(&self, id: &str, input: UserUpdate) -> Result<user::Model>;
    /// Deletes a user (their accounts and sessions go too).
    ///
    /// # Errors
    /// `NotFound`; `Conflict` while campaigns still reference the user.
    async fn delete(&self, id: &str) -> Result<user::Model>;
    /// SPEC query 1: users of `role`, newest first (limit default 50).
    ///
    /// # Errors
    /// `Invalid` for a limit outside 1..=1000.
    async fn by_role(&self, role: UserRole, limit: Option<u64>) -> Result<Arc<Vec<user::Model>>>;
}

/// The SeaORM implementation of [`UserRepository`].
pub struct Users<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> UserRepository for Users<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewUser) -> Result<user::Model> {
        input.validate()?;
        let now = now();
        let model = user::Model {
            id: ids::new_id(),
            email: input.email,
            name: input.name,
            role: input.role,
            avatar: input.avatar,
            email_verified: input.email_verified,
            created_at: now,
            updated_at: now,
        };
        self.0.insert(model, Change::User).await
    }

    async fn get(&self, id: &str) -> Result<user::Model> {
        get_by_id::<user::Entity, _>(self.0.conn, "user", user::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: UserUpdate) -> Result<user::Model> {
        validate::id("id", id)?;
        if let Some(email) = &input.email {
            validate::email("email", email)?;
        }
        if let Some(Some(name)) = &input.name {
            validate::text("name", name, validate::MAX_TEXT_LEN)?;
        }
        validate::opt_timestamp("email_verified", input.email_verified.flatten())?;
        if let Some(Some(avatar)) = &input.avatar {
            validate::text("avatar", avatar, validate::MAX_TEXT_LEN)?;
        }
        if input == UserUpdate::default() {
            return Err(crate::Error::invalid("update", "no field to change"));
        }
        let am = user::ActiveModel {
            id: NotSet,
            email: set_if(input.email),
            name: set_if(input.name),
            role: set_if(input.role),
            avatar: set_if(input.avatar),
            email_verified: set_if(input.email_verified),
            created_at: NotSet,
            updated_at: Set(now()),
        };
        let model =
            update_by_id::<user::Entity, _>(self.0.conn, "user", user::Column::Id, id, am).await?;
        self.0
            .record(vec![Change::User(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn delete(&self, id: &str) -> Result<user::Model> {
        let model =
            delete_by_id::<user::Entity, _>(self.0.conn, "user", user::Column::Id, id).await?;
        self.0
            .record(vec![Change::User(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }

    async fn by_role(&self, role: UserRole, limit: Option<u64>) -> Result<Arc<Vec<user::Model>>> {
        self.0.read(UsersByRole::new(role, limit)?).await
    }
}
