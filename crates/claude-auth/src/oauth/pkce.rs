//! PKCE and state values, from the OS CSPRNG.
//!
//! verifier = base64url(32 random bytes), challenge = base64url(SHA-256(verifier)),
//! method S256; the state is a separate base64url(32 random bytes) — never
//! the verifier.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// A PKCE verifier/challenge pair and an independent state.
#[derive(Debug)]
pub struct PkcePair {
    /// Sent only in the code exchange.
    pub verifier: Secret,
    /// Sent in the authorize URL.
    pub challenge: String,
    /// The `state` parameter (CSRF protection), independent of the verifier.
    pub state: Secret,
}

fn random_b64(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Unsupported(format!("the OS random number generator failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The S256 challenge for a verifier.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl PkcePair {
    /// Fresh values from the OS CSPRNG.
    pub fn generate() -> Result<PkcePair> {
        let verifier = random_b64(32)?;
        let challenge = challenge_for(&verifier);
        Ok(PkcePair {
            verifier: Secret::new(verifier),
            challenge,
            state: Secret::new(random_b64(32)?),
        })
    }
}

/// Compare two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn state_is_independent_of_verifier_and_43_chars() {
        let p = PkcePair::generate().unwrap();
        assert_ne!(p.state.expose(), p.verifier.expose());
        assert_eq!(p.verifier.len(), 43);
        assert_eq!(p.state.len(), 43);
        assert_eq!(p.challenge, challenge_for(p.verifier.expose()));
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
