//! The personal records a cooperative keeps off chain, in the fields upstream MONO uses, so its
//! clients map onto them: individuals, organizations, individual entrepreneurs and payment
//! methods (SBP by phone, or a bank account).
//!
//! [`Individual::validated`] and its siblings check every field at once and return all the
//! field errors together, so a form can show each next to its field; what they return is
//! normalised (phone numbers in E.164, e-mail domains in lower case, requisites trimmed).

use serde::{Deserialize, Serialize};

use crate::antelope::name::Name;
use crate::private_data::contact::{Email, Phone, date};
use crate::private_data::requisites::{Account, Bik, Inn, Kpp, Ogrn, Ogrnip};
use crate::private_data::{FieldError, Invalid};

/// A passport of the Russian Federation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passport {
    /// Series, 4 digits.
    pub series: String,
    /// Number, 6 digits.
    pub number: String,
    /// Issuing authority.
    pub issued_by: String,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued_at: String,
    /// Code of the issuing unit, `NNN-NNN`.
    pub code: String,
}

/// A member who is a natural person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Individual {
    /// Account on chain.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Patronymic; empty when the person has none.
    #[serde(default)]
    pub middle_name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birthdate: String,
    /// Registered address.
    pub full_address: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Passport, when the cooperative asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport: Option<Passport>,
}

/// Who signs for an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Representative {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Patronymic; empty when the person has none.
    #[serde(default)]
    pub middle_name: String,
    /// Position (`Председатель совета`).
    pub position: String,
    /// What empowers them (`Устава`).
    pub based_on: String,
}

/// An organization's registration numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationDetails {
    /// INN, 10 digits.
    pub inn: String,
    /// OGRN, 13 digits.
    pub ogrn: String,
    /// KPP.
    pub kpp: String,
}

/// A member that is a legal entity (the cooperative itself is one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Account on chain.
    pub username: String,
    /// Legal form as upstream spells it (`coop`, `ooo`, `pao`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short name.
    pub short_name: String,
    /// Full name.
    pub full_name: String,
    /// Who signs for it.
    pub represented_by: Representative,
    /// Country.
    pub country: String,
    /// City.
    pub city: String,
    /// Registered address.
    pub full_address: String,
    /// Actual address.
    pub fact_address: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Registration numbers.
    pub details: OrganizationDetails,
}

/// An individual entrepreneur's registration numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrepreneurDetails {
    /// INN, 12 digits.
    pub inn: String,
    /// OGRNIP, 15 digits.
    pub ogrn: String,
}

/// A member who is an individual entrepreneur.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entrepreneur {
    /// Account on chain.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Patronymic; empty when the person has none.
    #[serde(default)]
    pub middle_name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birthdate: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Country.
    pub country: String,
    /// City.
    pub city: String,
    /// Registered address.
    pub full_address: String,
    /// Registration numbers.
    pub details: EntrepreneurDetails,
}

/// A bank's requisites for a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankDetails {
    /// BIK.
    pub bik: String,
    /// The bank's correspondent account.
    pub corr: String,
    /// The bank's KPP.
    pub kpp: String,
}

/// How a member is paid or pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method_type", content = "data", rename_all = "snake_case")]
pub enum PaymentDetails {
    /// The Faster Payments System, by phone number.
    Sbp {
        /// Phone number the payment goes to.
        phone: String,
    },
    /// A transfer to a bank account.
    BankTransfer {
        /// `RUB`.
        currency: String,
        /// A card number, when the account has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        card_number: Option<String>,
        /// The bank's name.
        bank_name: String,
        /// The account number.
        account_number: String,
        /// The bank's requisites.
        details: BankDetails,
    },
}

/// One payment method of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// Whose method it is.
    pub username: String,
    /// Its id among the member's methods.
    pub method_id: String,
    /// Whether it is the one used by default.
    pub is_default: bool,
    /// Type and details.
    #[serde(flatten)]
    pub details: PaymentDetails,
}

/// A record the private store keeps: its kind, its key within the kind, and its checks.
pub trait PrivateRecord: Sized + Serialize {
    /// The store's `kind` for records of this type.
    const KIND: &'static str;

    /// The record's key within its kind.
    fn key(&self) -> String;

    /// The record normalised, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    fn validated(self) -> Result<Self, Vec<FieldError>>;
}

macro_rules! private_record {
    ($type:ty, $kind:literal, |$record:ident| $key:expr) => {
        impl PrivateRecord for $type {
            const KIND: &'static str = $kind;

            fn key(&self) -> String {
                let $record = self;
                $key
            }

            fn validated(self) -> Result<Self, Vec<FieldError>> {
                <$type>::validated(self)
            }
        }
    };
}
pub(crate) use private_record;

private_record!(Individual, "individual", |record| record.username.clone());
private_record!(Organization, "organization", |record| record
    .username
    .clone());
private_record!(Entrepreneur, "entrepreneur", |record| record
    .username
    .clone());
private_record!(PaymentMethod, "payment_method", |record| format!(
    "{}/{}",
    record.username, record.method_id
));

/// Checks fields one by one, keeping every error.
#[derive(Default)]
pub(crate) struct Checks(Vec<FieldError>);

impl Checks {
    pub(crate) fn check<T>(&mut self, field: &str, value: Result<T, Invalid>) -> Option<T> {
        match value {
            Ok(value) => Some(value),
            Err(reason) => {
                self.0.push(FieldError {
                    field: field.to_owned(),
                    reason,
                });
                None
            }
        }
    }

    pub(crate) fn required(&mut self, field: &str, text: &str) {
        if text.trim().is_empty() {
            self.check::<()>(field, Err(Invalid::Missing));
        }
    }

    /// Replaces `text` with its normalised form when it is valid.
    fn normalise<T: ToString>(
        &mut self,
        field: &str,
        text: &mut String,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) {
        if let Some(value) = self.check(field, parse(text)) {
            *text = value.to_string();
        }
    }

    /// Checks and normalises a record's `phone` and `email`.
    pub(crate) fn contacts(&mut self, phone: &mut String, email: &mut String) {
        self.normalise("phone", phone, str::parse::<Phone>);
        self.email("email", email);
    }

    pub(crate) fn username(&mut self, text: &str) {
        self.username_at("username", text);
    }

    /// Checks an account name in `field`.
    pub(crate) fn username_at(&mut self, field: &str, text: &str) {
        let parsed = text.parse::<Name>().map_err(|_| Invalid::Format {
            expected: "an account name of up to 12 characters a-z, 1-5 and dots",
        });
        self.check(field, parsed);
    }

    /// Checks and normalises an e-mail address in `field`.
    pub(crate) fn email(&mut self, field: &str, text: &mut String) {
        self.normalise(field, text, str::parse::<Email>);
    }

    pub(crate) fn date(&mut self, field: &str, text: &str) {
        self.check(field, date(text));
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

fn pattern(text: &str, digits: &[usize], expected: &'static str) -> Result<(), Invalid> {
    let groups: Vec<&str> = text.trim().split('-').collect();
    let ok = groups.len() == digits.len()
        && groups
            .iter()
            .zip(digits)
            .all(|(group, len)| group.len() == *len && group.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(Invalid::Format { expected })
    }
}

/// Whose INN a field holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InnOf {
    Organization,
    Person,
}

/// An INN of the kind the field needs: 10 digits for an organization, 12 for a person.
fn inn_of(text: &str, of: InnOf) -> Result<Inn, Invalid> {
    let inn: Inn = text.parse()?;
    match (of, inn.is_organization()) {
        (InnOf::Organization, true) | (InnOf::Person, false) => Ok(inn),
        (InnOf::Organization, false) => Err(Invalid::Length {
            expected: "10 (an organization's)",
            got: inn.as_str().len(),
        }),
        (InnOf::Person, true) => Err(Invalid::Length {
            expected: "12 (a person's)",
            got: inn.as_str().len(),
        }),
    }
}

/// A bank card number: 16 to 19 digits (spaces allowed) passing the Luhn check.
fn card_number(text: &str) -> Result<String, Invalid> {
    let digits: String = text.chars().filter(|c| *c != ' ').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::Characters { expected: "digits" });
    }
    if !(16..=19).contains(&digits.len()) {
        return Err(Invalid::Length {
            expected: "16 to 19",
            got: digits.len(),
        });
    }
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(idx, digit)| match (idx % 2 == 1, digit * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => digit,
        })
        .sum();
    if sum.is_multiple_of(10) {
        Ok(digits)
    } else {
        Err(Invalid::CheckDigit)
    }
}

impl Individual {
    /// The record with its phone and e-mail normalised, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(mut self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username(&self.username);
        checks.required("first_name", &self.first_name);
        checks.required("last_name", &self.last_name);
        checks.date("birthdate", &self.birthdate);
        checks.required("full_address", &self.full_address);
        checks.contacts(&mut self.phone, &mut self.email);
        if let Some(passport) = &self.passport {
            checks.check(
                "passport.series",
                pattern(&passport.series, &[4], "4 digits"),
            );
            checks.check(
                "passport.number",
                pattern(&passport.number, &[6], "6 digits"),
            );
            checks.required("passport.issued_by", &passport.issued_by);
            checks.date("passport.issued_at", &passport.issued_at);
            checks.check(
                "passport.code",
                pattern(&passport.code, &[3, 3], "the unit code written NNN-NNN"),
            );
        }
        checks.finish(self)
    }
}

impl Organization {
    /// The record with its contacts normalised, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field; an INN of a person is refused here.
    pub fn validated(mut self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username(&self.username);
        for (field, text) in [
            ("type", &self.kind),
            ("short_name", &self.short_name),
            ("full_name", &self.full_name),
            ("represented_by.first_name", &self.represented_by.first_name),
            ("represented_by.last_name", &self.represented_by.last_name),
            ("represented_by.position", &self.represented_by.position),
            ("represented_by.based_on", &self.represented_by.based_on),
            ("country", &self.country),
            ("city", &self.city),
            ("full_address", &self.full_address),
            ("fact_address", &self.fact_address),
        ] {
            checks.required(field, text);
        }
        checks.contacts(&mut self.phone, &mut self.email);
        let details = &mut self.details;
        checks.normalise("details.inn", &mut details.inn, |text| {
            inn_of(text, InnOf::Organization)
        });
        checks.normalise("details.ogrn", &mut details.ogrn, str::parse::<Ogrn>);
        checks.normalise("details.kpp", &mut details.kpp, str::parse::<Kpp>);
        checks.finish(self)
    }
}

impl Entrepreneur {
    /// The record with its contacts normalised, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field; an organization's INN is refused here.
    pub fn validated(mut self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username(&self.username);
        for (field, text) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("country", &self.country),
            ("city", &self.city),
            ("full_address", &self.full_address),
        ] {
            checks.required(field, text);
        }
        checks.date("birthdate", &self.birthdate);
        checks.contacts(&mut self.phone, &mut self.email);
        let details = &mut self.details;
        checks.normalise("details.inn", &mut details.inn, |text| {
            inn_of(text, InnOf::Person)
        });
        checks.normalise("details.ogrn", &mut details.ogrn, str::parse::<Ogrnip>);
        checks.finish(self)
    }
}

impl PaymentMethod {
    /// The method with its phone or numbers normalised, or every field error. A bank account
    /// must pass the control key computed with the bank's BIK, and so must the bank's
    /// correspondent account.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(mut self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username(&self.username);
        checks.required("method_id", &self.method_id);
        match &mut self.details {
            PaymentDetails::Sbp { phone } => {
                checks.normalise("data.phone", phone, str::parse::<Phone>);
            }
            PaymentDetails::BankTransfer {
                currency,
                card_number: card,
                bank_name,
                account_number,
                details,
            } => {
                if currency != "RUB" {
                    checks.check::<()>("data.currency", Err(Invalid::Format { expected: "RUB" }));
                }
                checks.required("data.bank_name", bank_name);
                if let Some(card) = card {
                    checks.normalise("data.card_number", card, card_number);
                }
                checks.normalise("data.details.kpp", &mut details.kpp, str::parse::<Kpp>);
                let bik = checks.check("data.details.bik", details.bik.parse::<Bik>());
                if let Some(bik) = bik {
                    checks.normalise("data.account_number", account_number, |text| {
                        Account::settlement(text, &bik)
                    });
                    checks.normalise("data.details.corr", &mut details.corr, |text| {
                        Account::correspondent(text, &bik)
                    });
                    details.bik = bik.to_string();
                }
            }
        }
        checks.finish(self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn individual() -> Individual {
        serde_json::from_value(json!({
            "username": "ivanovaanna1",
            "first_name": "Анна",
            "last_name": "Иванова",
            "middle_name": "Сергеевна",
            "birthdate": "1985-04-23",
            "full_address": "г. Москва, ул. Садовая, д. 1, кв. 2",
            "phone": "8 (912) 345-67-89",
            "email": "Anna@Example.RU",
            "passport": {"series": "4509", "number": "123456", "issued_by": "ОВД Тверского района", "issued_at": "2005-05-10", "code": "772-001"}
        }))
        .expect("the upstream shape")
    }

    fn organization() -> Organization {
        serde_json::from_value(json!({
            "username": "voskhod",
            "type": "coop",
            "short_name": "ПК «Восход»",
            "full_name": "Потребительский кооператив «Восход»",
            "represented_by": {"first_name": "Пётр", "last_name": "Сидоров", "middle_name": "Ильич", "position": "Председатель совета", "based_on": "Устава"},
            "country": "Россия",
            "city": "Москва",
            "full_address": "г. Москва, ул. Садовая, д. 1",
            "fact_address": "г. Москва, ул. Садовая, д. 1",
            "phone": "+7 495 123-45-67",
            "email": "info@voskhod.coop",
            "details": {"inn": "7707083893", "ogrn": "1027700132195", "kpp": "773601001"}
        }))
        .expect("the upstream shape")
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|error| error.field).collect()
    }

    #[test]
    fn valid_records_come_back_normalised() {
        let person = individual().validated().expect("valid");
        assert_eq!(person.phone, "+79123456789");
        assert_eq!(person.email, "Anna@example.ru");
        organization().validated().expect("valid");
        let entrepreneur: Entrepreneur = serde_json::from_value(json!({
            "username": "petrovip1111", "first_name": "Иван", "last_name": "Петров",
            "birthdate": "1979-11-02", "phone": "+79120000000", "email": "ip@example.ru",
            "country": "Россия", "city": "Тверь", "full_address": "г. Тверь, ул. Речная, 5",
            "details": {"inn": "500100732259", "ogrn": "304500116000157"}
        }))
        .expect("the upstream shape");
        entrepreneur.validated().expect("valid");
    }

    #[test]
    fn every_invalid_field_is_named_at_once() {
        let mut person = individual();
        person.username = "Ivanova".to_owned();
        person.birthdate = "23.04.1985".to_owned();
        person.phone = "12345".to_owned();
        person.first_name = " ".to_owned();
        if let Some(passport) = &mut person.passport {
            passport.code = "772001".to_owned();
        }
        assert_eq!(
            fields(person.validated().expect_err("invalid")),
            [
                "username",
                "first_name",
                "birthdate",
                "phone",
                "passport.code"
            ]
        );

        let mut coop = organization();
        coop.details.inn = "500100732259".to_owned();
        coop.details.ogrn = "1027700132194".to_owned();
        let errors = coop.validated().expect_err("invalid");
        assert_eq!(fields(errors.clone()), ["details.inn", "details.ogrn"]);
        assert_eq!(errors[1].reason, Invalid::CheckDigit);
    }

    #[test]
    fn bank_accounts_are_checked_with_their_bank() {
        let method = |account: &str, corr: &str, card: Option<&str>| -> PaymentMethod {
            serde_json::from_value(json!({
                "username": "ivanovaanna1",
                "method_id": "1",
                "is_default": true,
                "method_type": "bank_transfer",
                "data": {
                    "currency": "RUB",
                    "card_number": card,
                    "bank_name": "ПАО Сбербанк",
                    "account_number": account,
                    "details": {"bik": "044525225", "corr": corr, "kpp": "773601001"}
                }
            }))
            .expect("the upstream shape")
        };
        method(
            "40702810038000000008",
            "30101810400000000225",
            Some("4276 3800 1234 5679"),
        )
        .validated()
        .expect("valid");
        let errors = method(
            "40702810038000000009",
            "30101810400000000226",
            Some("4276380012345675"),
        )
        .validated()
        .expect_err("invalid");
        assert_eq!(
            fields(errors),
            [
                "data.card_number",
                "data.account_number",
                "data.details.corr"
            ]
        );
        let sbp: PaymentMethod = serde_json::from_value(json!({
            "username": "ivanovaanna1", "method_id": "2", "is_default": false,
            "method_type": "sbp", "data": {"phone": "8 912 345 67 89"}
        }))
        .expect("the upstream shape");
        let PaymentDetails::Sbp { phone } = sbp.validated().expect("valid").details else {
            panic!("an SBP method");
        };
        assert_eq!(phone, "+79123456789");
    }
}
