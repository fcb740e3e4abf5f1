//! Contact data: phone numbers (normalised to E.164), e-mail addresses and calendar dates.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

use crate::private_data::Invalid;

/// A phone number in E.164 form, `+` and 8 to 15 digits (`+79123456789`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// An e-mail address; the domain is kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

const PHONE_FORM: &str = "a phone number with its country code, such as +7 912 345-67-89";
const EMAIL_FORM: &str = "an e-mail address such as ivanova@example.ru";
const DATE_FORM: &str = "a calendar date written YYYY-MM-DD, such as 1985-04-23";

impl FromStr for Phone {
    type Err = Invalid;

    /// Accepts the usual ways of writing a number (spaces, dashes, brackets); a Russian number
    /// written with the trunk prefix `8` (`8 912 345-67-89`) is read as `+7`.
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        let (international, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
        {
            return Err(Invalid::Format {
                expected: PHONE_FORM,
            });
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let digits = match (international, digits.strip_prefix('8')) {
            (false, Some(national)) if digits.len() == 11 => format!("7{national}"),
            (true, _) => digits,
            (false, _) => {
                return Err(Invalid::Format {
                    expected: PHONE_FORM,
                });
            }
        };
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(Invalid::Format {
                expected: PHONE_FORM,
            });
        }
        Ok(Self(format!("+{digits}")))
    }
}

impl FromStr for Email {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        let invalid = Invalid::Format {
            expected: EMAIL_FORM,
        };
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(invalid);
        };
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = text.len() <= 254
            && labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|top| {
                top.chars().count() >= 2 && top.chars().all(char::is_alphabetic)
            });
        if local_ok && domain_ok {
            Ok(Self(format!("{local}@{}", domain.to_lowercase())))
        } else {
            Err(invalid)
        }
    }
}

/// A calendar date written `YYYY-MM-DD` (a date of birth, of registration, of issue).
///
/// # Errors
/// [`Invalid::Format`] for another form or a day that does not exist (`2023-02-29`).
pub fn date(text: &str) -> Result<Date, Invalid> {
    let text = text.trim();
    let well_formed = text.len() == 10
        && text.char_indices().all(|(idx, c)| {
            if idx == 4 || idx == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !well_formed {
        return Err(Invalid::Format {
            expected: DATE_FORM,
        });
    }
    text.parse().map_err(|_| Invalid::Format {
        expected: DATE_FORM,
    })
}

impl Phone {
    /// The number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Email {
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_to_e164() {
        let cases = [
            ("+7 (912) 345-67-89", "+79123456789"),
            ("8 912 345 67 89", "+79123456789"),
            ("+79123456789", "+79123456789"),
            ("+375 29 123-45-67", "+375291234567"),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Phone>().expect(text).as_str(), expected);
        }
        for bad in [
            "912 345-67-89",
            "+7 912 abc",
            "+0123456789",
            "+1234567",
            "",
            "++79123456789",
        ] {
            assert!(bad.parse::<Phone>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_keep_the_local_part_and_lower_the_domain() {
        assert_eq!(
            "Ivanova.A@Example.RU"
                .parse::<Email>()
                .expect("valid")
                .as_str(),
            "Ivanova.A@example.ru"
        );
        "иванова@пример.рф"
            .parse::<Email>()
            .expect("international addresses");
        for bad in [
            "ivanova",
            "ivanova@",
            "@example.ru",
            "ivanova@example",
            "iva nova@example.ru",
            "ivanova@-example.ru",
            ".ivanova@example.ru",
            "ivanova@example.r",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_must_exist() {
        assert_eq!(date("1985-04-23").expect("valid").to_string(), "1985-04-23");
        date("2024-02-29").expect("a leap day");
        for bad in [
            "2023-02-29",
            "23.04.1985",
            "1985-4-23",
            "1985-04-31",
            "19850423",
        ] {
            assert!(date(bad).is_err(), "{bad:?}");
        }
    }
}
