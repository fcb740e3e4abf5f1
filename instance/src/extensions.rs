//! Extensions: optional features an instance installs, configures, enables and disables at run
//! time, without a restart.
//!
//! Each extension implements [`Extension`] in a file of its own (built in: [`qrpay`],
//! [`powerup`]): a
//! name and a version, the JSON Schema of its configuration (secrets marked `writeOnly`, see
//! [`config`]), its own migrations (applied when it is installed), the desktop routes and
//! widgets it adds with the roles that may see them, and a hook called for each block the
//! follower stores ([`hooks`]). Its GraphQL fields live in [`crate::api`] under its name as a
//! prefix (`qrpayPaymentInstructions`) and answer only while it is enabled.
//!
//! Whether an extension is installed and enabled, and its configuration, live in the store
//! (`extensions`), read afresh at each use, so a change made through one replica's API holds at
//! once for every replica and for the follower's hooks.
//!
//! Architecture invariant: an extension reads and writes through the store's domain-named
//! methods and acts on chain only through the cooperative's pusher; a failing hook is logged
//! and counted, never stops the follower, and never runs inside its commit.

pub mod config;
pub mod hooks;
pub mod powerup;
pub mod qrpay;

use std::sync::Arc;

use serde_json::Value;

use crate::antelope::name::Name;
use crate::chain::push::Pusher;
use crate::private_data::FieldError;
use crate::registry::roles::Role;
use crate::store::{self, ExtensionMigration, InstalledExtension, Store};

/// Result of extension operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an extension operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No built-in extension has this name.
    #[error("no extension is named {name:?}")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The extension is already installed.
    #[error("the extension {name} is already installed")]
    AlreadyInstalled {
        /// The extension.
        name: String,
    },
    /// The extension is not installed.
    #[error("the extension {name} is not installed")]
    NotInstalled {
        /// The extension.
        name: String,
    },
    /// The configuration breaks the extension's schema or rules.
    #[error("the configuration of {name} is invalid")]
    InvalidConfig {
        /// The extension.
        name: String,
        /// Each invalid field.
        fields: Vec<FieldError>,
    },
    /// The store failed.
    #[error("reading or writing the extensions")]
    Store(#[from] store::Error),
}

/// What a desktop entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesktopKind {
    /// A page of its own, with a path.
    Route,
    /// A widget shown inside a page the desktop already has.
    Widget,
}

/// A route or widget an extension adds to the desktop, shown only while it is enabled and
/// only to the roles named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesktopItem {
    /// Route or widget.
    pub kind: DesktopKind,
    /// Its id, unique within the extension (the route's path for a route, the host page and
    /// slot for a widget: `payments/instructions`).
    pub id: &'static str,
    /// Its title, in Russian as the desktop shows it.
    pub title: &'static str,
    /// The roles that see it.
    pub roles: &'static [Role],
}

/// What a hook may use.
#[derive(Clone)]
pub struct HookContext {
    /// The instance's store.
    pub store: Store,
    /// The cooperative served.
    pub coopname: Name,
    /// Signs and pushes the cooperative's transactions; `None` without the cooperative's key.
    pub cooperative: Option<Pusher>,
    /// Seconds since 1970.
    pub clock: crate::api::Clock,
}

/// Why a hook failed; logged and counted, never fatal.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// One extension.
#[async_trait::async_trait]
pub trait Extension: Send + Sync {
    /// Its name: lowercase letters and digits, the prefix of its GraphQL fields.
    fn name(&self) -> &'static str;
    /// Its version (semver).
    fn version(&self) -> &'static str;
    /// Its title, in Russian as the desktop shows it.
    fn title(&self) -> &'static str;
    /// What it does.
    fn description(&self) -> &'static str;
    /// The JSON Schema of its configuration; top-level properties marked `"writeOnly": true`
    /// are secrets.
    fn config_schema(&self) -> Value;
    /// The configuration it is installed with when none is given, if one is valid.
    fn default_config(&self) -> Option<Value> {
        None
    }
    /// Rules beyond the schema (check digits, ranges that depend on each other), checked only
    /// once the schema holds.
    fn check_config(&self, _config: &Value) -> Vec<FieldError> {
        Vec::new()
    }
    /// Its own migrations, applied when it is installed.
    fn migrations(&self) -> &'static [ExtensionMigration] {
        &[]
    }
    /// The desktop routes and widgets it adds.
    fn desktop(&self) -> &'static [DesktopItem] {
        &[]
    }
    /// Called, while it is enabled, for each block the follower stored, with its configuration.
    ///
    /// # Errors
    /// Whatever went wrong; the caller logs and counts it.
    async fn on_block(
        &self,
        _ctx: &HookContext,
        _block_num: u32,
        _config: &Value,
    ) -> Result<(), HookError> {
        Ok(())
    }
}

/// The extensions this binary has; cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    extensions: Arc<[Arc<dyn Extension>]>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.extensions.iter().map(|extension| extension.name()))
            .finish()
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Catalog {
    /// The built-in extensions.
    pub fn builtin() -> Self {
        Self::new(vec![Arc::new(qrpay::Qrpay), Arc::new(powerup::Powerup)])
    }

    /// A catalog of `extensions`.
    pub fn new(extensions: Vec<Arc<dyn Extension>>) -> Self {
        Self {
            extensions: extensions.into(),
        }
    }

    /// Every extension, in catalog order.
    pub fn all(&self) -> &[Arc<dyn Extension>] {
        &self.extensions
    }

    /// The extension `name`.
    ///
    /// # Errors
    /// [`Error::Unknown`].
    pub fn get(&self, name: &str) -> Result<&Arc<dyn Extension>> {
        self.extensions
            .iter()
            .find(|extension| extension.name() == name)
            .ok_or_else(|| Error::Unknown {
                name: name.to_owned(),
            })
    }
}

/// Checks `config` for `extension`: its schema, then its own rules.
///
/// # Errors
/// [`Error::InvalidConfig`] with every invalid field.
pub fn check(extension: &dyn Extension, config: &Value) -> Result<()> {
    let invalid = |fields| Error::InvalidConfig {
        name: extension.name().to_owned(),
        fields,
    };
    config::validate(&extension.config_schema(), config).map_err(invalid)?;
    let fields = extension.check_config(config);
    if fields.is_empty() {
        Ok(())
    } else {
        Err(invalid(fields))
    }
}

/// Installs `name` with `config` (or its default configuration), enabled or not, and applies
/// its migrations; nothing is written when the configuration is invalid.
///
/// # Errors
/// [`Error::Unknown`], [`Error::InvalidConfig`], [`Error::AlreadyInstalled`], [`Error::Store`].
pub async fn install(
    store: &Store,
    catalog: &Catalog,
    name: &str,
    enabled: bool,
    config: Option<Value>,
    now: i64,
) -> Result<InstalledExtension> {
    let extension = catalog.get(name)?;
    let config = config
        .or_else(|| extension.default_config())
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    check(extension.as_ref(), &config)?;
    let installed = InstalledExtension {
        name: name.to_owned(),
        version: extension.version().to_owned(),
        enabled,
        config,
        installed_at: now,
        updated_at: now,
    };
    if !store
        .install_extension(&installed, extension.migrations())
        .await?
    {
        return Err(Error::AlreadyInstalled {
            name: name.to_owned(),
        });
    }
    tracing::info!(extension = name, enabled, "extension installed");
    Ok(installed)
}

/// Changes whether `name` runs and its configuration (secrets left out of `config` are kept);
/// nothing is written when the result is invalid.
///
/// # Errors
/// [`Error::Unknown`], [`Error::NotInstalled`], [`Error::InvalidConfig`], [`Error::Store`].
pub async fn update(
    store: &Store,
    catalog: &Catalog,
    name: &str,
    enabled: Option<bool>,
    config: Option<Value>,
    now: i64,
) -> Result<InstalledExtension> {
    let extension = catalog.get(name)?;
    let not_installed = || Error::NotInstalled {
        name: name.to_owned(),
    };
    let mut installed = store
        .installed_extension(name)
        .await?
        .ok_or_else(not_installed)?;
    if let Some(config) = config {
        installed.config =
            config::keep_secrets(&extension.config_schema(), &installed.config, config);
    }
    check(extension.as_ref(), &installed.config)?;
    installed.enabled = enabled.unwrap_or(installed.enabled);
    installed.updated_at = now;
    if !store
        .update_extension(name, installed.enabled, &installed.config, now)
        .await?
    {
        return Err(not_installed());
    }
    tracing::info!(
        extension = name,
        enabled = installed.enabled,
        "extension updated"
    );
    Ok(installed)
}

/// Uninstalls `name`; the data its migrations made stays for a reinstall.
///
/// # Errors
/// [`Error::Unknown`], [`Error::NotInstalled`], [`Error::Store`].
pub async fn uninstall(store: &Store, catalog: &Catalog, name: &str) -> Result<()> {
    catalog.get(name)?;
    if !store.uninstall_extension(name).await? {
        return Err(Error::NotInstalled {
            name: name.to_owned(),
        });
    }
    tracing::info!(extension = name, "extension uninstalled");
    Ok(())
}

/// The configuration of `name` when it is installed and enabled.
///
/// # Errors
/// [`Error::Store`].
pub async fn enabled_config(store: &Store, name: &str) -> Result<Option<Value>> {
    Ok(store
        .installed_extension(name)
        .await?
        .filter(|installed| installed.enabled)
        .map(|installed| installed.config))
}
