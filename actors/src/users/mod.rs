//! The users domain: accounts, passwords, sessions (refresh tokens), roles, suspension.

mod accounts;
mod messages;
mod password;
mod service;
pub mod tokens;

pub use accounts::AccountCache;
pub use messages::*;
pub use service::UsersService;

use crate::runtime::{ApplyEvent, ApplyEvents, Domain, domain_handle, route_messages};

route_messages!(UsersService {
    Register => register,
    Login => login,
    RefreshSession => refresh,
    Logout => logout,
    GetUsers => get_users,
    ListUsers => list_users,
    UpdateProfile => update_profile,
    ChangePassword => change_password,
    SetRole => set_role,
    SetSuspended => set_suspended,
    CreateAdmin => create_admin,
    ApplyEvent => apply,
    ApplyEvents => apply_all,
});

domain_handle!(
    /// The way in to the users domain.
    UsersHandle, Domain::Users, UsersService, {
        register: Register,
        login: Login,
        refresh: RefreshSession,
        logout: Logout,
        get_users: GetUsers,
        list_users: ListUsers,
        update_profile: UpdateProfile,
        change_password: ChangePassword,
        set_role: SetRole,
        set_suspended: SetSuspended,
        create_admin: CreateAdmin,
        apply: ApplyEvent,
        apply_all: ApplyEvents,
    }
);

/// Moderation suspends accounts.
/// The domains whose events [`wants`] picks from.
pub(crate) const SOURCES: &[crate::runtime::Domain] = &[crate::runtime::Domain::Reports];

pub(crate) fn wants(event: &crate::bus::Event) -> bool {
    event.kind == "reports.user_suspended"
}
