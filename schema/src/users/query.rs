use async_graphql::{
    Context, ID, Object,
    connection::{Connection, Edge},
};
use gerak_actors::users::ListUsers;

use super::{Role, User, load_user};
use crate::{
    Handles,
    auth::{optional_viewer, require_admin},
    connection::{Cursor, Total, page_size},
    error::{ApiError, FieldResult},
    input::parse_id,
};

const CURSOR_KIND: &str = "user";

#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// The caller's own account; null when not logged in. A token whose account no
    /// longer exists is UNAUTHENTICATED, so that apps sign out rather than show nobody.
    async fn me(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(viewer) = optional_viewer(ctx)? else {
            return Ok(None);
        };
        match load_user(ctx, &viewer.user_id).await? {
            Some(user) => Ok(Some(User::new(user))),
            None => {
                Err(ApiError::Unauthenticated("the account no longer exists".to_owned()).into())
            }
        }
    }

    /// Any account's public profile (email only for themself and admins).
    async fn user(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<User>> {
        optional_viewer(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(load_user(ctx, &id).await?.map(User::new))
    }

    /// Every account, newest first (ADMIN). `search` matches name or email, any case.
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        role: Option<Role>,
        search: Option<String>,
    ) -> FieldResult<Connection<Cursor, User, Total>> {
        require_admin(ctx)?;
        let first = page_size(first)?;
        let after = Cursor::decode_after(CURSOR_KIND, after.as_deref())?;
        if let Some(search) = &search {
            if search.chars().count() > 200 {
                return Err(
                    ApiError::bad_input("search", "must be at most 200 characters long").into(),
                );
            }
            // PostgreSQL refuses NUL in text; it would surface as an internal error.
            if search.chars().any(char::is_control) {
                return Err(
                    ApiError::bad_input("search", "must not contain control characters").into(),
                );
            }
        }
        let page = Handles::of(ctx)?
            .users
            .send(ListUsers {
                role: role.map(Into::into),
                search,
                after: after.clone(),
                first,
            })
            .await?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            page.has_next_page,
            Total {
                total_count: page.total_count as i64,
            },
        );
        connection.edges.extend(
            page.users
                .into_iter()
                .map(|u| Edge::new(Cursor::new(CURSOR_KIND, &u.id), User::new(u))),
        );
        Ok(connection)
    }
}
