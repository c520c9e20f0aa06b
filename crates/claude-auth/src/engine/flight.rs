//! Single flight's bookkeeping: what the last flight (the one caller in the
//! manager's slow path) came to, shared with every caller that waited on it,
//! and the guard that lands it however the flight ends.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::engine::manager::{AuthError, Inner, Obtained};
use crate::oauth::token_client::OAuthError;
use crate::source::{NoCredential, SourceId};

/// What the last flight came to, for the callers that waited on it.
#[derive(Clone, Default)]
pub(crate) enum Landing {
    /// Nothing yet, or the flight was cancelled (its task dropped).
    #[default]
    None,
    /// The credential it handed out.
    Ok(Obtained),
    /// Its error; `forced` when it was a 401 recovery, whose failure says
    /// nothing to a caller that only wants a valid credential.
    Failed { error: SharedError, forced: bool },
}

/// A flight's error, kept so that every waiter gets the same kind of error
/// (`login_required()`, exit codes and `is_transient()` keep working).
#[derive(Clone)]
pub(crate) enum SharedError {
    LoginRequired {
        message: String,
        command: String,
    },
    Expired {
        kind: &'static str,
        origin: Option<SourceId>,
        location: String,
        command: String,
    },
    NoCredential(NoCredential),
    Refresh(OAuthError),
    /// A store or lock error, as displayed.
    Other(String),
}

impl Landing {
    pub(crate) fn of(result: &Result<Obtained, AuthError>, forced: bool) -> Landing {
        let error = match result {
            Ok(o) => return Landing::Ok(o.clone()),
            Err(AuthError::LoginRequired { message, command }) => SharedError::LoginRequired {
                message: message.clone(),
                command: command.clone(),
            },
            Err(AuthError::Expired {
                kind,
                origin,
                location,
                command,
            }) => SharedError::Expired {
                kind,
                origin: *origin,
                location: location.clone(),
                command: command.clone(),
            },
            Err(AuthError::NoCredential(e)) => SharedError::NoCredential(e.clone()),
            Err(AuthError::Refresh(e)) => SharedError::Refresh(e.clone()),
            Err(e @ (AuthError::Store(_) | AuthError::FlightFailed { .. })) => {
                SharedError::Other(e.to_string())
            }
        };
        Landing::Failed { error, forced }
    }
}

impl From<SharedError> for AuthError {
    fn from(e: SharedError) -> AuthError {
        match e {
            SharedError::LoginRequired { message, command } => {
                AuthError::LoginRequired { message, command }
            }
            SharedError::Expired {
                kind,
                origin,
                location,
                command,
            } => AuthError::Expired {
                kind,
                origin,
                location,
                command,
            },
            SharedError::NoCredential(e) => AuthError::NoCredential(e),
            SharedError::Refresh(e) => AuthError::Refresh(e),
            SharedError::Other(message) => AuthError::FlightFailed { message },
        }
    }
}

/// The one caller in the slow path, made before its task is spawned.
/// Dropping it (done, failed, cancelled, or its task dropped before it ever
/// ran) frees the flight first and then wakes every waiter with the outcome.
pub(crate) struct Flight {
    pub(crate) inner: Arc<Inner>,
    pub(crate) outcome: Landing,
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.inner.flight.store(false, Ordering::Release);
        let outcome = std::mem::take(&mut self.outcome);
        self.inner.landed.send_replace(outcome);
    }
}
