//! Russian requisites of members and organizations, each a newtype that only holds a valid
//! value: taxpayer numbers (INN) and state registration numbers (OGRN, OGRNIP) with their check
//! digits, the tax registration reason code (KPP), the bank identifier (BIK), and bank accounts,
//! whose control key is computed together with the bank's BIK.
//!
//! Pure: text in, a value or the reason out. The check-digit rules are the Federal Tax Service's
//! (INN, OGRN, OGRNIP) and the Bank of Russia's (account control key, weights 7-1-3).

use std::fmt;
use std::str::FromStr;

use crate::private_data::Invalid;

/// An INN: 10 digits for an organization, 12 for an individual or entrepreneur.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Inn(String);

/// An OGRN: the 13-digit state registration number of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ogrn(String);

/// An OGRNIP: the 15-digit state registration number of an individual entrepreneur.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ogrnip(String);

/// A KPP: 4 digits of the tax office, 2 digits or capital Latin letters of the reason, 3 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kpp(String);

/// A BIK: the 9-digit identifier of a bank in the Bank of Russia's directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bik(String);

/// A 20-digit bank account number, checked with the bank's BIK: [`Account::settlement`] for a
/// client's account, [`Account::correspondent`] for the bank's account at the Bank of Russia.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Account(String);

/// The digits of `text`, which must be `lengths` long (one of them) and all ASCII digits.
fn digits(text: &str, lengths: &[usize], expected: &'static str) -> Result<Vec<u32>, Invalid> {
    let text = text.trim();
    if !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::Characters { expected: "digits" });
    }
    if !lengths.contains(&text.len()) {
        return Err(Invalid::Length {
            expected,
            got: text.chars().count(),
        });
    }
    Ok(text.chars().filter_map(|c| c.to_digit(10)).collect())
}

/// `Σ digit × weight mod 11 mod 10`, the INN check digit.
fn inn_check(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

/// The remainder of the number written by `digits` divided by `modulus`.
fn remainder(digits: &[u32], modulus: u64) -> u64 {
    digits
        .iter()
        .fold(0, |rest, digit| (rest * 10 + u64::from(*digit)) % modulus)
}

fn joined(digits: &[u32]) -> String {
    digits
        .iter()
        .filter_map(|digit| char::from_digit(*digit, 10))
        .collect()
}

impl FromStr for Inn {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        const LEGAL: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
        const FIRST: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
        const SECOND: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
        let d = digits(text, &[10, 12], "10 (organization) or 12 (individual)")?;
        let valid = if d.len() == 10 {
            inn_check(&d, &LEGAL) == d[9]
        } else {
            inn_check(&d, &FIRST) == d[10] && inn_check(&d, &SECOND) == d[11]
        };
        if valid {
            Ok(Self(joined(&d)))
        } else {
            Err(Invalid::CheckDigit)
        }
    }
}

impl Inn {
    /// Whether this is an organization's INN (10 digits) rather than a person's (12).
    pub fn is_organization(&self) -> bool {
        self.0.len() == 10
    }
}

impl FromStr for Ogrn {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        let d = digits(text, &[13], "13")?;
        if remainder(&d[..12], 11) % 10 == u64::from(d[12]) {
            Ok(Self(joined(&d)))
        } else {
            Err(Invalid::CheckDigit)
        }
    }
}

impl FromStr for Ogrnip {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        let d = digits(text, &[15], "15")?;
        if remainder(&d[..14], 13) % 10 == u64::from(d[14]) {
            Ok(Self(joined(&d)))
        } else {
            Err(Invalid::CheckDigit)
        }
    }
}

impl FromStr for Kpp {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 9 {
            return Err(Invalid::Length {
                expected: "9",
                got: chars.len(),
            });
        }
        let office_and_number = chars[..4].iter().chain(&chars[6..]);
        let reason_ok = chars[4..6]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
        if office_and_number.clone().all(char::is_ascii_digit) && reason_ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Invalid::Characters {
                expected: "4 digits, 2 digits or capital Latin letters, 3 digits",
            })
        }
    }
}

impl FromStr for Bik {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        digits(text, &[9], "9").map(|d| Self(joined(&d)))
    }
}

impl Account {
    /// A client's account (settlement, current or personal) at the bank of `bik`: the control
    /// key runs over the BIK's last three digits followed by the account.
    ///
    /// # Errors
    /// [`Invalid`] for a malformed number or a control key that does not match the bank.
    pub fn settlement(text: &str, bik: &Bik) -> Result<Self, Invalid> {
        Self::checked(text, &bik.0[6..9])
    }

    /// The bank's correspondent account at the Bank of Russia: the control key runs over `0`,
    /// the BIK's fifth and sixth digits, then the account.
    ///
    /// # Errors
    /// [`Invalid`] for a malformed number or a control key that does not match the bank.
    pub fn correspondent(text: &str, bik: &Bik) -> Result<Self, Invalid> {
        Self::checked(text, &format!("0{}", &bik.0[4..6]))
    }

    fn checked(text: &str, prefix: &str) -> Result<Self, Invalid> {
        let d = digits(text, &[20], "20")?;
        let key: Vec<u32> = prefix
            .chars()
            .filter_map(|c| c.to_digit(10))
            .chain(d.iter().copied())
            .collect();
        let sum: u32 = key
            .iter()
            .zip([7, 1, 3].into_iter().cycle())
            .map(|(digit, weight)| digit * weight)
            .sum();
        if sum.is_multiple_of(10) {
            Ok(Self(joined(&d)))
        } else {
            Err(Invalid::CheckDigit)
        }
    }
}

macro_rules! as_text {
    ($($requisite:ty),*) => {
        $(
            impl $requisite {
                /// The digits (and letters) as written.
                pub fn as_str(&self) -> &str {
                    &self.0
                }
            }

            impl fmt::Display for $requisite {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(&self.0)
                }
            }
        )*
    };
}

as_text!(Inn, Ogrn, Ogrnip, Kpp, Bik, Account);

#[cfg(test)]
mod tests {
    use super::*;

    /// Published requisites of real organizations and the FTS's sample numbers.
    #[test]
    fn valid_requisites_are_accepted() {
        for inn in ["7707083893", "7736207543", "500100732259"] {
            assert_eq!(inn.parse::<Inn>().expect(inn).as_str(), inn);
        }
        assert!(
            "7707083893"
                .parse::<Inn>()
                .expect("valid")
                .is_organization()
        );
        assert!(
            !"500100732259"
                .parse::<Inn>()
                .expect("valid")
                .is_organization()
        );
        for ogrn in ["1027700132195", "1027700229193"] {
            ogrn.parse::<Ogrn>().expect(ogrn);
        }
        "304500116000157".parse::<Ogrnip>().expect("valid OGRNIP");
        for kpp in ["773601001", "7736AB001"] {
            kpp.parse::<Kpp>().expect(kpp);
        }
        let bik: Bik = "044525225".parse().expect("valid BIK");
        Account::correspondent("30101810400000000225", &bik).expect("the bank's own account");
        Account::settlement("40702810038000000008", &bik).expect("a client's account");
        assert_eq!(
            " 7707083893\n".parse::<Inn>().expect("trimmed").as_str(),
            "7707083893"
        );
    }

    #[test]
    fn each_malformed_requisite_says_why() {
        let check = |result: Result<(), Invalid>, expected: Invalid| {
            assert_eq!(result.expect_err("invalid"), expected);
        };
        let length = |expected, got| Invalid::Length { expected, got };
        let digits_only = Invalid::Characters { expected: "digits" };
        check("7707083894".parse::<Inn>().map(drop), Invalid::CheckDigit);
        check("500100732258".parse::<Inn>().map(drop), Invalid::CheckDigit);
        check(
            "77070838".parse::<Inn>().map(drop),
            length("10 (organization) or 12 (individual)", 8),
        );
        check("77070838a3".parse::<Inn>().map(drop), digits_only.clone());
        check(
            "1027700132194".parse::<Ogrn>().map(drop),
            Invalid::CheckDigit,
        );
        check(
            "304500116000158".parse::<Ogrnip>().map(drop),
            Invalid::CheckDigit,
        );
        check(
            "1027700132195".parse::<Ogrnip>().map(drop),
            length("15", 13),
        );
        check("77360100".parse::<Kpp>().map(drop), length("9", 8));
        assert!(matches!(
            "7736ab001".parse::<Kpp>(),
            Err(Invalid::Characters { .. })
        ));
        check("04452522".parse::<Bik>().map(drop), length("9", 8));
        let bik: Bik = "044525225".parse().expect("valid BIK");
        let other_bank: Bik = "044525593".parse().expect("valid BIK");
        check(
            Account::settlement("40702810038000000009", &bik).map(drop),
            Invalid::CheckDigit,
        );
        // A valid account of one bank is not an account of another.
        check(
            Account::settlement("40702810038000000008", &other_bank).map(drop),
            Invalid::CheckDigit,
        );
        check(
            Account::settlement("4070281003800000000", &bik).map(drop),
            length("20", 19),
        );
    }
}
