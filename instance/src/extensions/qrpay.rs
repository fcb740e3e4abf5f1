//! `qrpay`: payment instructions for registration fees and share deposits, with a QR code in
//! the Russian banking standard ST00012 (ГОСТ Р 56042-2014) that banking apps read to fill in
//! a transfer to the cooperative's account.
//!
//! The payload is `ST0001` (format version 0001), `2` (the values are UTF-8), then `|`-separated
//! `Key=value` pairs: first the five the standard requires, in its order (`Name`,
//! `PersonalAcc`, `BankName`, `BIC`, `CorrespAcc`), then `PayeeINN`, `KPP` when configured,
//! `Sum` in kopecks and `Purpose`. The separator may not occur in a value: the configuration
//! refuses it, and it is replaced by `/` in the purpose, which is cut to the standard's 210
//! characters. The code is rendered as SVG, and as PNG (8-bit grey, four modules of quiet
//! zone) encoded here from the code's modules.
//!
//! The configuration holds the cooperative's bank details, checked as the rest of the instance
//! checks them (BIC of 9 digits, accounts of 20 with their control key against the BIC, INN of
//! 10 or 12 digits with its check digits, KPP of 9). Confirmation of the payment stays manual
//! (`setPaymentStatus`). Its one migration makes `qrpay_instructions`, where the API records
//! the instructions issued for each payment. Pure: no I/O.

use qrcode::{Color, EcLevel, QrCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{DesktopItem, DesktopKind, Extension};
use crate::antelope::asset::Asset;
use crate::private_data::requisites::{Account, Bik, Inn, Kpp};
use crate::private_data::{FieldError, field};
use crate::registry::roles::Role;
use crate::store::{ExtensionMigration, QRPAY_MIGRATIONS};

/// The extension's name and GraphQL prefix.
pub const NAME: &str = "qrpay";
/// The standard's header: format ST, version 0001, values in UTF-8.
pub const HEADER: &str = "ST00012";
/// Longest purpose the standard allows, in characters.
pub const PURPOSE_MAX_CHARS: usize = 210;
/// Pixels per module of the PNG.
const PNG_MODULE_PX: u32 = 8;
/// Modules of white border around the code, as the QR standard asks.
const QUIET_ZONE: u32 = 4;

/// The extension.
#[derive(Debug, Clone, Copy, Default)]
pub struct Qrpay;

/// The cooperative's bank details, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BankDetails {
    /// The payee's name (`Name`).
    pub name: String,
    /// The payee's settlement account (`PersonalAcc`).
    pub personal_acc: String,
    /// The bank's name (`BankName`).
    pub bank_name: String,
    /// The bank's BIC (`BIC`).
    pub bic: String,
    /// The bank's correspondent account (`CorrespAcc`).
    pub corresp_acc: String,
    /// The payee's INN (`PayeeINN`).
    pub payee_inn: String,
    /// The payee's KPP (`KPP`), for an organization.
    #[serde(default)]
    pub kpp: Option<String>,
}

/// A payment request as the QR code carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instructions {
    /// The ST00012 text the code encodes.
    pub payload: String,
    /// The amount in kopecks.
    pub sum_kopecks: u64,
    /// The purpose as written into the payload.
    pub purpose: String,
}

/// Why instructions cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stored configuration does not hold bank details.
    #[error("the qrpay configuration holds no bank details")]
    Config(#[source] serde_json::Error),
    /// The payload does not fit in a QR code.
    #[error("the payment request does not fit in a QR code")]
    TooLong(#[source] qrcode::types::QrError),
    /// The payment is not in rubles.
    #[error("the payment is in {symbol}, not in rubles")]
    NotRubles {
        /// The payment's symbol code.
        symbol: String,
    },
    /// The amount is not a positive whole number of kopecks.
    #[error("the amount is not a positive whole number of kopecks")]
    Amount,
    /// PNG encoding failed.
    #[error("encoding the QR code as PNG")]
    Png(#[source] png::EncodingError),
}

const DESKTOP: &[DesktopItem] = &[DesktopItem {
    kind: DesktopKind::Widget,
    id: "payments/instructions",
    title: "Оплата по QR-коду",
    roles: &[Role::User, Role::Member, Role::Council, Role::Chairman],
}];

#[async_trait::async_trait]
impl Extension for Qrpay {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1.0.0"
    }

    fn title(&self) -> &'static str {
        "Оплата по QR-коду"
    }

    fn description(&self) -> &'static str {
        "Payment instructions for registration fees and share deposits with a QR code in the \
         banking standard ST00012 (GOST R 56042-2014), to the cooperative's bank account."
    }

    fn config_schema(&self) -> Value {
        let text = |title: &str, max: u32| {
            json!({"type": "string", "title": title, "minLength": 1, "maxLength": max,
                   "pattern": "^[^|]+$"})
        };
        let digits = |title: &str, pattern: &str| json!({"type": "string", "title": title, "pattern": pattern});
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "personal_acc", "bank_name", "bic", "corresp_acc", "payee_inn"],
            "properties": {
                "name": text("Получатель", 160),
                "personal_acc": digits("Расчётный счёт", "^[0-9]{20}$"),
                "bank_name": text("Банк", 45),
                "bic": digits("БИК", "^[0-9]{9}$"),
                "corresp_acc": digits("Корреспондентский счёт", "^[0-9]{20}$"),
                "payee_inn": digits("ИНН", "^([0-9]{10}|[0-9]{12})$"),
                "kpp": digits("КПП", "^[0-9]{9}$"),
            }
        })
    }

    fn check_config(&self, config: &Value) -> Vec<FieldError> {
        let Ok(details) = BankDetails::deserialize(config) else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        match field("bic", details.bic.parse::<Bik>()) {
            Ok(bik) => {
                let settlement = Account::settlement(&details.personal_acc, &bik);
                errors.extend(field("personal_acc", settlement).err());
                let correspondent = Account::correspondent(&details.corresp_acc, &bik);
                errors.extend(field("corresp_acc", correspondent).err());
            }
            Err(err) => errors.push(err),
        }
        errors.extend(field("payee_inn", details.payee_inn.parse::<Inn>()).err());
        if let Some(kpp) = &details.kpp {
            errors.extend(field("kpp", kpp.parse::<Kpp>()).err());
        }
        errors
    }

    fn migrations(&self) -> &'static [ExtensionMigration] {
        QRPAY_MIGRATIONS
    }

    fn desktop(&self) -> &'static [DesktopItem] {
        DESKTOP
    }
}

/// The bank details in a stored configuration.
///
/// # Errors
/// [`Error::Config`].
pub fn bank_details(config: &Value) -> Result<BankDetails, Error> {
    BankDetails::deserialize(config).map_err(Error::Config)
}

/// `amount` (an asset in rubles, of any precision) in kopecks.
///
/// # Errors
/// [`Error::NotRubles`], or [`Error::Amount`] for an amount that is not positive or holds a
/// fraction of a kopeck.
pub fn kopecks(amount: &Asset) -> Result<u64, Error> {
    let symbol = amount.symbol();
    if symbol.code().to_string() != "RUB" {
        return Err(Error::NotRubles {
            symbol: symbol.code().to_string(),
        });
    }
    let units = u64::try_from(amount.amount()).map_err(|_| Error::Amount)?;
    let precision = u32::from(symbol.precision());
    let kopecks = if precision >= 2 {
        let per_kopeck = 10_u64.pow(precision - 2);
        if !units.is_multiple_of(per_kopeck) {
            return Err(Error::Amount);
        }
        units / per_kopeck
    } else {
        units
            .checked_mul(10_u64.pow(2 - precision))
            .ok_or(Error::Amount)?
    };
    if kopecks == 0 {
        return Err(Error::Amount);
    }
    Ok(kopecks)
}

/// The purpose of a payment of `what` (`Вступительный взнос`, …) by `username`, naming the
/// payment by the first 16 characters of its hash so a bank statement line leads back to it.
pub fn purpose(what: &str, username: &str, hash: &str) -> String {
    let short: String = hash.chars().take(16).collect();
    format!("{what}, пайщик {username}, платёж {short}. Без НДС")
}

/// The ST00012 request to pay `sum_kopecks` to `details` for `purpose`.
pub fn instructions(details: &BankDetails, sum_kopecks: u64, purpose: &str) -> Instructions {
    let purpose: String = purpose
        .chars()
        .map(|c| if c == '|' || c.is_control() { '/' } else { c })
        .take(PURPOSE_MAX_CHARS)
        .collect();
    let mut fields = vec![
        ("Name", details.name.as_str()),
        ("PersonalAcc", details.personal_acc.as_str()),
        ("BankName", details.bank_name.as_str()),
        ("BIC", details.bic.as_str()),
        ("CorrespAcc", details.corresp_acc.as_str()),
        ("PayeeINN", details.payee_inn.as_str()),
    ];
    if let Some(kpp) = &details.kpp {
        fields.push(("KPP", kpp.as_str()));
    }
    let sum = sum_kopecks.to_string();
    fields.push(("Sum", sum.as_str()));
    fields.push(("Purpose", purpose.as_str()));
    let mut payload = HEADER.to_owned();
    for (key, value) in fields {
        payload.push('|');
        payload.push_str(key);
        payload.push('=');
        payload.push_str(value);
    }
    Instructions {
        payload,
        sum_kopecks,
        purpose,
    }
}

fn code(payload: &str) -> Result<QrCode, Error> {
    // Level M survives a crease or a smudge on a printed invoice and keeps the code small.
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(Error::TooLong)
}

/// The QR code of `payload` as an SVG document.
///
/// # Errors
/// [`Error::TooLong`].
pub fn svg(payload: &str) -> Result<String, Error> {
    Ok(code(payload)?
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .build())
}

/// The QR code of `payload` as a PNG image.
///
/// # Errors
/// [`Error::TooLong`] or [`Error::Png`].
pub fn png(payload: &str) -> Result<Vec<u8>, Error> {
    let code = code(payload)?;
    let modules = u32::try_from(code.width())
        .map_err(|_| Error::TooLong(qrcode::types::QrError::DataTooLong))?;
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_MODULE_PX;
    let mut pixels = Vec::with_capacity((side * side) as usize);
    for y in 0..side {
        for x in 0..side {
            let module = |at: u32| (at / PNG_MODULE_PX).checked_sub(QUIET_ZONE);
            let dark = match (module(x), module(y)) {
                (Some(mx), Some(my)) if mx < modules && my < modules => {
                    colors[(my * modules + mx) as usize] == Color::Dark
                }
                _ => false,
            };
            pixels.push(if dark { 0 } else { 255 });
        }
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(Error::Png)?;
    writer.write_image_data(&pixels).map_err(Error::Png)?;
    writer.finish().map_err(Error::Png)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::check;

    fn details() -> BankDetails {
        BankDetails {
            name: "ПК «Восход»".to_owned(),
            personal_acc: "40702810138250123017".to_owned(),
            bank_name: "ПАО Сбербанк".to_owned(),
            bic: "044525225".to_owned(),
            corresp_acc: "30101810400000000225".to_owned(),
            payee_inn: "7707083893".to_owned(),
            kpp: Some("773601001".to_owned()),
        }
    }

    fn config() -> Value {
        json!({"name": "ПК «Восход»", "personal_acc": "40702810138250123017",
               "bank_name": "ПАО Сбербанк", "bic": "044525225",
               "corresp_acc": "30101810400000000225", "payee_inn": "7707083893",
               "kpp": "773601001"})
    }

    #[test]
    fn the_payload_follows_st00012() {
        let made = instructions(&details(), 150_000, "Вступительный взнос | пайщик alice");
        assert_eq!(
            made.payload,
            "ST00012|Name=ПК «Восход»|PersonalAcc=40702810138250123017|BankName=ПАО Сбербанк\
             |BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7707083893|KPP=773601001\
             |Sum=150000|Purpose=Вступительный взнос / пайщик alice"
        );
        let long = instructions(&details(), 1, &"я".repeat(300));
        assert_eq!(long.purpose.chars().count(), PURPOSE_MAX_CHARS);
        let without_kpp = BankDetails {
            kpp: None,
            ..details()
        };
        assert!(!instructions(&without_kpp, 1, "x").payload.contains("KPP="));
    }

    #[test]
    fn amounts_are_whole_kopecks_of_rubles() {
        let check = |text: &str| kopecks(&text.parse::<Asset>().expect("an asset")).ok();
        assert_eq!(check("100.0000 RUB"), Some(10_000));
        assert_eq!(check("0.0100 RUB"), Some(1));
        assert_eq!(check("12.34 RUB"), Some(1_234));
        assert_eq!(check("5 RUB"), Some(500));
        assert_eq!(check("0.0001 RUB"), None);
        assert_eq!(check("0.0000 RUB"), None);
        assert_eq!(check("-1.0000 RUB"), None);
        assert_eq!(check("1.0000 AXON"), None);
        assert_eq!(
            purpose("Паевой взнос", "alice", "00ff00ff00ff00ff00ff"),
            "Паевой взнос, пайщик alice, платёж 00ff00ff00ff00ff. Без НДС"
        );
    }

    #[test]
    fn bank_details_are_checked_field_by_field() {
        assert!(check(&Qrpay, &config()).is_ok());
        let cases: [(&str, Value, &[&str]); 6] = [
            ("short bic", json!("04452522"), &["bic"]),
            (
                "account key",
                json!("40702810138250123018"),
                &["personal_acc"],
            ),
            ("19 digits", json!("4070281013825012301"), &["personal_acc"]),
            ("inn key", json!("7707083894"), &["payee_inn"]),
            ("11 digits", json!("77070838931"), &["payee_inn"]),
            ("separator", json!("ПК | Восход"), &["name"]),
        ];
        let keys = [
            "bic",
            "personal_acc",
            "personal_acc",
            "payee_inn",
            "payee_inn",
            "name",
        ];
        for ((case, value, expected), key) in cases.into_iter().zip(keys) {
            let mut config = config();
            config[key] = value;
            let Err(crate::extensions::Error::InvalidConfig { fields, .. }) =
                check(&Qrpay, &config)
            else {
                panic!("{case}: refused");
            };
            let named: Vec<&str> = fields.iter().map(|err| err.field.as_str()).collect();
            assert_eq!(named, expected, "{case}");
        }
        let mut missing = config();
        missing.as_object_mut().expect("an object").remove("bic");
        let Err(crate::extensions::Error::InvalidConfig { fields, .. }) = check(&Qrpay, &missing)
        else {
            panic!("a missing BIC is refused");
        };
        assert_eq!(fields[0].field, "bic");
    }
}
