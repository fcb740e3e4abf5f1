//! `powerup`: keeps the cooperative's CPU and NET topped up, within limits.
//!
//! Every `every_blocks` blocks its hook reads the cooperative's account (`get_account`). When
//! the CPU or NET left falls below its threshold (a percentage of the account's `max`, or an
//! absolute amount: microseconds of CPU, bytes of NET) it pushes `eosio::powerup` in COOPOS'
//! form (`payer` and `receiver` the cooperative, `days`, `payment`, `transfer`), signed with the
//! cooperative's key, unless that payment would take the day's spending (UTC) above
//! `daily_cap`. An account the chain reports unlimited is never topped up.
//!
//! Its one migration makes `powerup_topups`, where each top-up is recorded (time, block,
//! payment, transaction id) before the next block's hook runs, so the daily cap holds across
//! restarts. The decision itself ([`decide`]) is pure.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Extension, HookContext, HookError};
use crate::antelope::asset::Asset;
use crate::antelope::name::Name;
use crate::chain::api::{self, AccountLimit};
use crate::chain::push::{self, JsonAction};
use crate::private_data::{FieldError, Invalid};
use crate::store::{self, ExtensionMigration, POWERUP_MIGRATIONS, PowerupTopUp};

/// The extension's name and GraphQL prefix.
pub const NAME: &str = "powerup";
/// The system contract and its action.
const EOSIO: Name = Name::from_str_const("eosio");
const POWERUP: Name = Name::from_str_const("powerup");
/// An amount of the system token with its 4 decimals, as the chain writes it.
const AXON_PATTERN: &str = "^[0-9]{1,14}\\.[0-9]{4} AXON$";
const SECS_PER_DAY: i64 = 86_400;

/// The extension.
#[derive(Debug, Clone, Copy, Default)]
pub struct Powerup;

/// When a resource counts as low: below a share of its `max`, or below an absolute amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    /// Percent of `max` left (0–100).
    Percent(u8),
    /// Microseconds of CPU left.
    Us(u64),
    /// Bytes of NET left.
    Bytes(u64),
}

/// The configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Settings {
    /// How often the account is read, in blocks.
    pub every_blocks: u32,
    /// When CPU is low.
    pub cpu: Threshold,
    /// When NET is low.
    pub net: Threshold,
    /// What one top-up pays (`payment` of `powerup`).
    pub payment: Asset,
    /// For how many days one top-up rents (`days` of `powerup`, as the chain is configured).
    pub days: u32,
    /// The most the top-ups of one UTC day may pay together.
    pub daily_cap: Asset,
}

/// What the hook does about the account it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Both resources are above their thresholds (or unlimited).
    Enough,
    /// A resource is low and the cap allows a top-up.
    TopUp,
    /// A resource is low but a top-up would take the day's spending above the cap.
    CapReached,
}

/// Why the hook failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stored configuration is not the extension's.
    #[error("the powerup configuration is unreadable")]
    Config(#[source] serde_json::Error),
    /// The instance has no key of the cooperative to sign with.
    #[error("powerup needs the cooperative's key to sign with")]
    NoKey,
    /// The account could not be read.
    #[error("reading the account of {account}")]
    Account {
        /// The cooperative.
        account: Name,
        /// Why.
        #[source]
        source: api::Error,
    },
    /// The chain refused the top-up or could not be reached.
    #[error("pushing a powerup for {account}")]
    Push {
        /// The cooperative.
        account: Name,
        /// Why.
        #[source]
        source: push::Error,
    },
    /// The store failed.
    #[error("reading or recording the top-ups")]
    Store(#[from] store::Error),
}

#[async_trait::async_trait]
impl Extension for Powerup {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1.0.0"
    }

    fn title(&self) -> &'static str {
        "Пополнение ресурсов"
    }

    fn description(&self) -> &'static str {
        "Keeps the cooperative's CPU and NET on the chain topped up by eosio::powerup when they \
         run low, within a payment per top-up and a daily spending cap in AXON."
    }

    fn config_schema(&self) -> Value {
        let threshold = |title: &str, unit: &str, unit_title: &str| {
            json!({
                "type": "object", "title": title,
                "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
                "properties": {
                    "percent": {"type": "integer", "title": "Процент от максимума",
                                "minimum": 0, "maximum": 100},
                    unit: {"type": "integer", "title": unit_title, "minimum": 0},
                }
            })
        };
        let axon = |title: &str| json!({"type": "string", "title": title, "pattern": AXON_PATTERN});
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["every_blocks", "cpu", "net", "payment", "days", "daily_cap"],
            "properties": {
                "every_blocks": {"type": "integer", "title": "Проверять каждые N блоков",
                                 "minimum": 1, "maximum": 100_000},
                "cpu": threshold("Порог CPU", "us", "Микросекунд"),
                "net": threshold("Порог NET", "bytes", "Байт"),
                "payment": axon("Оплата одного пополнения"),
                "days": {"type": "integer", "title": "Дней аренды", "minimum": 1, "maximum": 365},
                "daily_cap": axon("Предел расходов за сутки"),
            }
        })
    }

    fn default_config(&self) -> Option<Value> {
        Some(json!({
            "every_blocks": 20,
            "cpu": {"percent": 20},
            "net": {"percent": 20},
            "payment": "1.0000 AXON",
            "days": 1,
            "daily_cap": "10.0000 AXON",
        }))
    }

    fn check_config(&self, config: &Value) -> Vec<FieldError> {
        let Ok(settings) = Settings::deserialize(config) else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        if settings.payment.amount() <= 0 {
            errors.push(FieldError {
                field: "payment".to_owned(),
                reason: Invalid::Format {
                    expected: "above zero",
                },
            });
        } else if settings.payment.amount() > settings.daily_cap.amount() {
            errors.push(FieldError {
                field: "payment".to_owned(),
                reason: Invalid::Format {
                    expected: "at most the daily cap",
                },
            });
        }
        errors
    }

    fn migrations(&self) -> &'static [ExtensionMigration] {
        POWERUP_MIGRATIONS
    }

    async fn on_block(
        &self,
        ctx: &HookContext,
        block_num: u32,
        config: &Value,
    ) -> Result<(), HookError> {
        Ok(top_up(ctx, block_num, config).await?)
    }
}

/// The settings in a stored configuration.
///
/// # Errors
/// [`Error::Config`].
pub fn settings(config: &Value) -> Result<Settings, Error> {
    Settings::deserialize(config).map_err(Error::Config)
}

/// Whether `limit` is below `threshold`; an unlimited resource never is.
pub fn is_low(limit: &AccountLimit, threshold: Threshold) -> bool {
    if limit.is_unlimited() {
        return false;
    }
    let available = i128::from(limit.available.max(0));
    match threshold {
        Threshold::Percent(percent) => {
            available * 100 < i128::from(percent) * i128::from(limit.max)
        }
        Threshold::Us(amount) | Threshold::Bytes(amount) => available < i128::from(amount),
    }
}

/// What to do about an account with `cpu` and `net` when `spent_today` (smallest units) was
/// already paid today.
pub fn decide(
    settings: &Settings,
    cpu: &AccountLimit,
    net: &AccountLimit,
    spent_today: i64,
) -> Decision {
    if !is_low(cpu, settings.cpu) && !is_low(net, settings.net) {
        return Decision::Enough;
    }
    let after = i128::from(spent_today) + i128::from(settings.payment.amount());
    if after > i128::from(settings.daily_cap.amount()) {
        Decision::CapReached
    } else {
        Decision::TopUp
    }
}

/// The start of the UTC day holding `now` (seconds since 1970).
pub fn day_start(now: i64) -> i64 {
    now - now.rem_euclid(SECS_PER_DAY)
}

async fn top_up(ctx: &HookContext, block_num: u32, config: &Value) -> Result<(), Error> {
    let settings = settings(config)?;
    if !block_num.is_multiple_of(settings.every_blocks.max(1)) {
        return Ok(());
    }
    let pusher = ctx.cooperative.as_ref().ok_or(Error::NoKey)?;
    let account = pusher
        .api()
        .get_account(ctx.coopname)
        .await
        .map_err(|source| Error::Account {
            account: ctx.coopname,
            source,
        })?;
    let now = (ctx.clock)();
    let spent_today = ctx.store.powerup_spent_since(day_start(now)).await?;
    match decide(
        &settings,
        &account.cpu_limit,
        &account.net_limit,
        spent_today,
    ) {
        Decision::Enough => return Ok(()),
        Decision::CapReached => {
            tracing::debug!(
                coopname = %ctx.coopname,
                block_num,
                spent_today,
                "powerup: resources are low but the daily cap is reached"
            );
            return Ok(());
        }
        Decision::TopUp => {}
    }
    let data = json!({
        "payer": ctx.coopname,
        "receiver": ctx.coopname,
        "days": settings.days,
        "payment": settings.payment,
        "transfer": true,
    });
    let pushed = pusher
        .push(&[JsonAction::new(EOSIO, POWERUP, data)])
        .await
        .map_err(|source| Error::Push {
            account: ctx.coopname,
            source,
        })?;
    let topup = PowerupTopUp {
        transaction_id: pushed.transaction_id.to_string(),
        topped_up_at: now,
        block_num: i64::from(pushed.block_num.unwrap_or(block_num)),
        amount: settings.payment.to_string(),
        amount_units: settings.payment.amount(),
    };
    ctx.store.put_powerup_topup(&topup).await?;
    tracing::info!(
        coopname = %ctx.coopname,
        block_num,
        trx_id = topup.transaction_id,
        amount = topup.amount,
        "powerup: topped up the cooperative's resources"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::check;

    fn limit(available: i64, max: i64) -> AccountLimit {
        AccountLimit {
            used: max - available,
            available,
            max,
        }
    }

    fn settings_of(cpu: Threshold) -> Settings {
        Settings {
            every_blocks: 1,
            cpu,
            net: Threshold::Bytes(100),
            payment: "1.0000 AXON".parse().expect("an asset"),
            days: 1,
            daily_cap: "2.5000 AXON".parse().expect("an asset"),
        }
    }

    #[test]
    fn low_resources_are_topped_up_until_the_cap() {
        let plenty = limit(1_000, 1_000);
        let check = |cpu: Threshold, cpu_limit: AccountLimit, net: AccountLimit, spent: i64| {
            decide(&settings_of(cpu), &cpu_limit, &net, spent)
        };
        let cases = [
            (
                Threshold::Percent(20),
                limit(300, 1_000),
                plenty,
                0,
                Decision::Enough,
            ),
            (
                Threshold::Percent(20),
                limit(200, 1_000),
                plenty,
                0,
                Decision::Enough,
            ),
            (
                Threshold::Percent(20),
                limit(199, 1_000),
                plenty,
                0,
                Decision::TopUp,
            ),
            (
                Threshold::Percent(20),
                limit(0, 0),
                plenty,
                0,
                Decision::Enough,
            ),
            (
                Threshold::Percent(20),
                limit(-5, 0),
                plenty,
                0,
                Decision::Enough,
            ),
            (
                Threshold::Us(500),
                limit(499, 1_000),
                plenty,
                0,
                Decision::TopUp,
            ),
            (
                Threshold::Us(500),
                limit(500, 1_000),
                plenty,
                0,
                Decision::Enough,
            ),
            (
                Threshold::Us(500),
                AccountLimit::unlimited(),
                AccountLimit::unlimited(),
                0,
                Decision::Enough,
            ),
            (
                Threshold::Us(500),
                plenty,
                limit(99, 1_000),
                0,
                Decision::TopUp,
            ),
            (
                Threshold::Us(500),
                plenty,
                limit(99, 1_000),
                15_000,
                Decision::TopUp,
            ),
            (
                Threshold::Us(500),
                plenty,
                limit(99, 1_000),
                15_001,
                Decision::CapReached,
            ),
            (Threshold::Us(500), plenty, plenty, 25_000, Decision::Enough),
        ];
        for (idx, (cpu, cpu_limit, net, spent, expected)) in cases.into_iter().enumerate() {
            assert_eq!(check(cpu, cpu_limit, net, spent), expected, "case {idx}");
        }
        // Percent(0) asks for nothing: a resource with none left is still not below 0 %.
        assert!(!is_low(&limit(0, 1_000), Threshold::Percent(0)));
        assert_eq!(day_start(86_400 * 3 + 5), 86_400 * 3);
        assert_eq!(day_start(86_400 * 3), 86_400 * 3);
    }

    #[test]
    fn the_configuration_is_checked_field_by_field() {
        let config = Powerup.default_config().expect("a default");
        assert!(check(&Powerup, &config).is_ok());
        assert!(settings(&config).is_ok());
        let cases: [(&str, Value, &str); 7] = [
            ("every_blocks", json!(0), "every_blocks"),
            ("cpu", json!({"percent": 101}), "cpu.percent"),
            ("cpu", json!({"percent": 10, "us": 5}), "cpu"),
            ("net", json!({"us": 5}), "net"),
            ("payment", json!("1.00 AXON"), "payment"),
            ("payment", json!("11.0000 AXON"), "payment"),
            ("daily_cap", json!("10.0000 RUB"), "daily_cap"),
        ];
        for (key, value, expected) in cases {
            let mut config = config.clone();
            config[key] = value.clone();
            let Err(crate::extensions::Error::InvalidConfig { fields, .. }) =
                check(&Powerup, &config)
            else {
                panic!("{key} = {value} is refused");
            };
            let named: Vec<&str> = fields.iter().map(|err| err.field.as_str()).collect();
            assert_eq!(named, [expected], "{key} = {value}");
        }
        let mut zero = config.clone();
        zero["payment"] = json!("0.0000 AXON");
        let Err(crate::extensions::Error::InvalidConfig { fields, .. }) = check(&Powerup, &zero)
        else {
            panic!("a zero payment is refused");
        };
        assert_eq!(fields[0].field, "payment");
    }
}
