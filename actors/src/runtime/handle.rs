//! Handles: what callers hold to reach a domain. A handle is a set of `Recipient`s, one
//! per message, so it names the domain's messages and never its actor type; a remote
//! transport can later stand behind the same recipients without changing any caller.

use actix::{Message, Recipient};

/// A handle that can carry message `M`.
pub trait Route<M: Message + Send>
where
    M::Result: Send,
{
    fn recipient(&self) -> &Recipient<M>;
}

/// Declares a domain's handle: `domain_handle!(UsersHandle, Domain::Users, UsersService,
/// { register: Register, ... })`.
macro_rules! domain_handle {
    ($(#[$doc:meta])* $handle:ident, $domain:expr, $service:ty, { $($field:ident : $message:ty),* $(,)? }) => {
        /// The recipients behind the handle. Shared: cloning a `Recipient` allocates three
        /// times and counts itself on the actor's channel, and every GraphQL request's
        /// loaders clone the handles (over a hundred recipients a request).
        struct HandleRecipients {
            ping: actix::Recipient<$crate::runtime::Ping>,
            $($field: actix::Recipient<$message>,)*
        }

        $(#[$doc])*
        #[derive(Clone)]
        pub struct $handle(std::sync::Arc<HandleRecipients>);

        impl $handle {
            pub const DOMAIN: $crate::runtime::Domain = $domain;

            pub(crate) fn new(addr: &actix::Addr<$crate::runtime::DomainActor<$service>>) -> Self {
                Self(std::sync::Arc::new(HandleRecipients {
                    ping: addr.clone().recipient(),
                    $($field: addr.clone().recipient(),)*
                }))
            }

            /// Sends one of the domain's messages and waits for the answer.
            pub async fn send<M, T>(&self, message: M) -> Result<T, $crate::DomainError>
            where
                Self: $crate::runtime::Route<M>,
                M: actix::Message<Result = Result<T, $crate::DomainError>> + Send + 'static,
                T: Send + 'static,
            {
                use $crate::runtime::Route as _;
                $crate::runtime::deliver(Self::DOMAIN, self.recipient(), message).await
            }
        }

        impl $crate::runtime::Route<$crate::runtime::Ping> for $handle {
            fn recipient(&self) -> &actix::Recipient<$crate::runtime::Ping> {
                &self.0.ping
            }
        }

        $(
            impl $crate::runtime::Route<$message> for $handle {
                fn recipient(&self) -> &actix::Recipient<$message> {
                    &self.0.$field
                }
            }
        )*
    };
}

pub(crate) use domain_handle;

/// Routes each message to the service method that handles it, through [`super::guard`]:
/// `route_messages!(UsersService { Register => register, ... })`.
macro_rules! route_messages {
    ($service:ty { $($message:ty => $method:ident),* $(,)? }) => {
        $(
            impl actix::Handler<$message> for $crate::runtime::DomainActor<$service> {
                type Result = actix::ResponseFuture<<$message as actix::Message>::Result>;

                fn handle(&mut self, message: $message, ctx: &mut Self::Context) -> Self::Result {
                    $crate::runtime::guard(self, ctx, |service| service.clone().$method(message))
                }
            }
        )*
    };
}

pub(crate) use route_messages;
