//! OAuth 2.0 for native apps: PKCE (RFC 7636), the loopback redirect
//! (RFC 8252), the paste flow, and the token endpoint client.

pub mod authorize;
pub mod browser;
pub mod callback;
pub mod login;
pub mod pkce;
pub mod token_client;
mod token_response;
