//! The auth error vocabulary. `Invalid` messages are safe to return to the
//! caller (they say what is wrong with the token, never a key or secret).

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token was refused; the text says why, for the 401 message.
    #[error("{0}")]
    Invalid(&'static str),
    /// Key material is missing or corrupt (an operator problem).
    #[error("signing keys: {0}")]
    Key(String),
    #[error("token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}
