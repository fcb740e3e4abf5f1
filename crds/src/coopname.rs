//! Antelope account names as used for `spec.coopname`.
//!
//! The same rule is in the CRD schema as a pattern, so the API server rejects bad names;
//! the operator checks again, because a schema can be changed by hand.

use thiserror::Error;

/// Longest account name the operator accepts (Antelope allows a 13th character with a
/// restricted alphabet, which cooperative accounts never use).
pub const MAX_COOPNAME_LEN: usize = 12;

/// The OpenAPI pattern equal to [`validate_coopname`].
pub(crate) const COOPNAME_PATTERN: &str = "^[a-z1-5.]{0,11}[a-z1-5]$";

/// Why a string is not a valid cooperative account name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoopnameError {
    /// The name is empty.
    #[error("coopname is empty")]
    Empty,
    /// The name is longer than [`MAX_COOPNAME_LEN`].
    #[error("coopname has {len} characters, at most 12 are allowed")]
    TooLong {
        /// Length of the rejected name in characters.
        len: usize,
    },
    /// The name contains a character outside `a-z`, `1-5` and `.`.
    #[error("coopname contains {found:?}; only a-z, 1-5 and '.' are allowed")]
    BadCharacter {
        /// The first offending character.
        found: char,
    },
    /// The name ends with a dot.
    #[error("coopname must not end with '.'")]
    TrailingDot,
}

/// Checks that `name` is an Antelope account name: 1 to 12 characters of `a-z`, `1-5` and
/// `.`, not ending with `.`.
pub fn validate_coopname(name: &str) -> Result<(), CoopnameError> {
    if name.is_empty() {
        return Err(CoopnameError::Empty);
    }
    let len = name.chars().count();
    if len > MAX_COOPNAME_LEN {
        return Err(CoopnameError::TooLong { len });
    }
    if let Some(found) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '1'..='5' | '.'))
    {
        return Err(CoopnameError::BadCharacter { found });
    }
    if name.ends_with('.') {
        return Err(CoopnameError::TrailingDot);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: Result<(), CoopnameError>) {
        assert_eq!(validate_coopname(name), expected, "name {name:?}");
    }

    #[test]
    fn accepts_antelope_names() {
        for name in [
            "a",
            "voskhod",
            "coop.1",
            "a.b.c",
            "abcdefghijkl",
            "12345",
            "z5",
        ] {
            check(name, Ok(()));
        }
    }

    #[test]
    fn rejects_bad_names() {
        check("", Err(CoopnameError::Empty));
        check("abcdefghijklm", Err(CoopnameError::TooLong { len: 13 }));
        check("Coop", Err(CoopnameError::BadCharacter { found: 'C' }));
        check("coop6", Err(CoopnameError::BadCharacter { found: '6' }));
        check("co-op", Err(CoopnameError::BadCharacter { found: '-' }));
        check("coop0", Err(CoopnameError::BadCharacter { found: '0' }));
        check("кооп", Err(CoopnameError::BadCharacter { found: 'к' }));
        check("coop.", Err(CoopnameError::TrailingDot));
        check(".", Err(CoopnameError::TrailingDot));
    }
}
