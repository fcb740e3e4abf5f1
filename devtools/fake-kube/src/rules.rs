//! The CEL rules (`x-kubernetes-validations`) of CustomResourceDefinitions, checked on every
//! write of a custom resource as the API server checks them: on create against the object,
//! on update and status writes with `oldSelf`, after the schema's defaults are applied.
//!
//! They run on kube-cel, the implementation the crds crate's own tests use, so a rule the CRD
//! carries is evaluated here exactly as there. Only the rules are checked, not the rest of
//! the OpenAPI schema (types, patterns, ranges), nor validation ratcheting.

use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use serde_json::Value;

use crate::error::{Cause, Error, Result};
use crate::resource::ResourceType;

/// The compiled rules of one CustomResourceDefinition's stored version.
pub(crate) struct CrdRules {
    schema: CompiledSchema,
    validator: Validator,
}

impl CrdRules {
    /// The rules of `crd`'s storage version; `None` when it has no schema.
    pub(crate) fn compile(crd: &Value) -> Option<Self> {
        let version = crd["spec"]["versions"]
            .as_array()?
            .iter()
            .find(|version| version["storage"].as_bool() == Some(true))?;
        let schema = &version["schema"]["openAPIV3Schema"];
        if !schema.is_object() {
            return None;
        }
        Some(Self {
            schema: compile_schema(schema),
            validator: Validator::new(),
        })
    }

    /// Checks `object` of type `rt`, replacing `old` when it is an update.
    ///
    /// # Errors
    /// [`Error::FieldsInvalid`] (422) naming every rule that failed, by field and message.
    pub(crate) fn check(
        &self,
        rt: &ResourceType,
        object: &Value,
        old: Option<&Value>,
    ) -> Result<()> {
        let Err(failures) = self.validator.validate_compiled(&self.schema, object, old) else {
            return Ok(());
        };
        Err(Error::FieldsInvalid {
            group: rt.group.clone(),
            kind: rt.kind.clone(),
            name: object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            causes: failures
                .iter()
                .map(|failure| Cause::invalid(&failure.field_path, &failure.message))
                .collect(),
        })
    }
}
