//! Extensions: `getExtensions` (public: what the instance has, which are installed and
//! enabled, and the desktop routes and widgets each adds; the configuration only for the
//! chairman and the service, never its secrets), `installExtension`, `updateExtension` and
//! `uninstallExtension` (the chairman or the service).

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};

use super::ApiState;
use super::error::ApiError;
use super::policy::{Policy, admit};
use crate::extensions::{self, Extension, config};
use crate::registry::roles::Role;
use crate::store::InstalledExtension;

/// Who may read extensions' configurations.
const CONFIG_READERS: Policy = Policy::ServiceOr(Role::Chairman);

/// What a desktop entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::extensions::DesktopKind")]
pub enum DesktopItemKind {
    /// A page of its own.
    Route,
    /// A widget inside a page the desktop has.
    Widget,
}

/// A route or widget an extension adds to the desktop.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DesktopItem {
    /// Route or widget.
    pub kind: DesktopItemKind,
    /// Its id within the extension (a route's path, a widget's page and slot).
    pub id: String,
    /// Its title.
    pub title: String,
    /// The roles that see it (`user`, `member`, `council`, `chairman`).
    pub roles: Vec<String>,
}

impl From<&extensions::DesktopItem> for DesktopItem {
    fn from(item: &extensions::DesktopItem) -> Self {
        Self {
            kind: DesktopItemKind::from(item.kind),
            id: item.id.to_owned(),
            title: item.title.to_owned(),
            roles: item
                .roles
                .iter()
                .map(|role| role.as_str().to_owned())
                .collect(),
        }
    }
}

/// One extension of this instance.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ExtensionInfo {
    /// Its name, the prefix of its GraphQL fields.
    pub name: String,
    /// The version this binary has.
    pub version: String,
    /// Its title.
    pub title: String,
    /// What it does.
    pub description: String,
    /// Whether it is installed.
    pub installed: bool,
    /// Whether it runs (its fields answer, its hooks run, its desktop entries show).
    pub enabled: bool,
    /// The version installed.
    pub installed_version: Option<String>,
    /// The JSON Schema of its configuration (`writeOnly` properties are secrets).
    pub schema: Json<serde_json::Value>,
    /// Its configuration without secrets: for the chairman and the service only.
    pub config: Option<Json<serde_json::Value>>,
    /// The secrets its configuration sets (names only): for the chairman and the service only.
    pub secrets_set: Option<Vec<String>>,
    /// The desktop routes and widgets it adds, shown while it is enabled.
    pub desktop: Vec<DesktopItem>,
    /// When it was installed, seconds since 1970.
    pub installed_at: Option<i64>,
    /// When it was last changed, seconds since 1970.
    pub updated_at: Option<i64>,
}

fn info(
    extension: &dyn Extension,
    installed: Option<&InstalledExtension>,
    show_config: bool,
) -> ExtensionInfo {
    let schema = extension.config_schema();
    let shown = installed.filter(|_| show_config);
    ExtensionInfo {
        name: extension.name().to_owned(),
        version: extension.version().to_owned(),
        title: extension.title().to_owned(),
        description: extension.description().to_owned(),
        installed: installed.is_some(),
        enabled: installed.is_some_and(|installed| installed.enabled),
        installed_version: installed.map(|installed| installed.version.clone()),
        config: shown.map(|installed| Json(config::without_secrets(&schema, &installed.config))),
        secrets_set: shown.map(|installed| config::secrets_set(&schema, &installed.config)),
        desktop: extension.desktop().iter().map(DesktopItem::from).collect(),
        installed_at: installed.map(|installed| installed.installed_at),
        updated_at: installed.map(|installed| installed.updated_at),
        schema: Json(schema),
    }
}

impl From<extensions::Error> for ApiError {
    fn from(err: extensions::Error) -> Self {
        use extensions::Error;
        match err {
            Error::Unknown { .. } => Self::NotFound("extension"),
            Error::NotInstalled { .. } => Self::NotFound("installed extension"),
            Error::AlreadyInstalled { .. } => Self::Conflict("the extension is already installed"),
            Error::InvalidConfig { fields, .. } => Self::BadInput {
                message: "invalid configuration".to_owned(),
                fields,
            },
            other => Self::internal(other),
        }
    }
}

/// An extension to install.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ExtensionInput {
    /// Its name.
    pub name: String,
    /// Whether it runs once installed.
    #[graphql(default = false)]
    pub enabled: bool,
    /// Its configuration; its default one when left out.
    pub config: Option<Json<serde_json::Value>>,
}

/// A change of an installed extension.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateExtensionInput {
    /// Its name.
    pub name: String,
    /// Whether it runs; unchanged when left out.
    pub enabled: Option<bool>,
    /// Its whole new configuration (secrets left out are kept); unchanged when left out.
    pub config: Option<Json<serde_json::Value>>,
}

/// An extension to uninstall.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UninstallExtensionInput {
    /// Its name.
    pub name: String,
}

#[derive(Default)]
pub struct ExtensionsQuery;

#[Object]
impl ExtensionsQuery {
    /// Every extension this instance has, installed or not; configurations only for the
    /// chairman and the service.
    async fn get_extensions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ExtensionInfo>> {
        let caller = admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let installed = state
            .store
            .installed_extensions()
            .await
            .map_err(ApiError::from)?;
        let show_config = CONFIG_READERS.admits(&caller, None);
        Ok(state
            .extensions
            .all()
            .iter()
            .map(|extension| {
                let row = installed.iter().find(|row| row.name == extension.name());
                info(extension.as_ref(), row, show_config)
            })
            .collect())
    }
}

#[derive(Default)]
pub struct ExtensionsMutation;

/// The answer of a changing operation: the chairman or the service sees the configuration.
fn changed(
    state: &ApiState,
    outcome: extensions::Result<InstalledExtension>,
) -> Result<ExtensionInfo, ApiError> {
    let installed = outcome?;
    let extension = state.extensions.get(&installed.name)?;
    Ok(info(extension.as_ref(), Some(&installed), true))
}

#[Object]
impl ExtensionsMutation {
    /// Installs an extension (applying its migrations) with a configuration it accepts.
    async fn install_extension(
        &self,
        ctx: &Context<'_>,
        data: ExtensionInput,
    ) -> async_graphql::Result<ExtensionInfo> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let config = data.config.map(|Json(config)| config);
        let outcome = extensions::install(
            &state.store,
            &state.extensions,
            &data.name,
            data.enabled,
            config,
            state.now(),
        );
        Ok(changed(state, outcome.await)?)
    }

    /// Enables or disables an installed extension, or changes its configuration; takes effect
    /// at once, without a restart.
    async fn update_extension(
        &self,
        ctx: &Context<'_>,
        data: UpdateExtensionInput,
    ) -> async_graphql::Result<ExtensionInfo> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let config = data.config.map(|Json(config)| config);
        let outcome = extensions::update(
            &state.store,
            &state.extensions,
            &data.name,
            data.enabled,
            config,
            state.now(),
        );
        Ok(changed(state, outcome.await)?)
    }

    /// Uninstalls an extension; the data its migrations made stays for a reinstall.
    async fn uninstall_extension(
        &self,
        ctx: &Context<'_>,
        data: UninstallExtensionInput,
    ) -> async_graphql::Result<bool> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        extensions::uninstall(&state.store, &state.extensions, &data.name)
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }
}
