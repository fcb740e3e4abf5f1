//! The cooperative's own private records: its template variables ([`Vars`]), the council's
//! projects of free decisions ([`Project`]), members' handwritten signature images
//! ([`SignatureImage`]) and the documents the instance keeps in full ([`StoredDocument`]), each
//! checked field by field like the members' records.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::private_data::records::{Checks, PrivateRecord, private_record};
use crate::private_data::{FieldError, Invalid};

/// A protocol of the general meeting or council that approved a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protocol {
    /// The protocol's number.
    pub protocol_number: String,
    /// Its date as written in documents (`"15 июня 2025 г."`).
    pub protocol_day_month_year: String,
}

/// The cooperative's variables that documents quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vars {
    /// The cooperative's account.
    pub coopname: String,
    /// Full name with the legal form abbreviated (`Потребительский кооператив «Восход»`).
    pub full_abbr: String,
    /// The same in the genitive case.
    pub full_abbr_genitive: String,
    /// The same in the dative case.
    pub full_abbr_dative: String,
    /// Short name (`ПК «Восход»`).
    pub short_abbr: String,
    /// Website.
    pub website: String,
    /// The name without the legal form.
    pub name: String,
    /// Where the privacy policy is published.
    pub confidential_link: String,
    /// Address for personal-data requests.
    pub confidential_email: String,
    /// Address for members.
    pub contact_email: String,
    /// Whether applications ask for a passport.
    pub passport_request: bool,
    /// Approval of the wallet agreement.
    pub wallet_agreement: Protocol,
    /// Approval of the electronic signature regulation.
    pub signature_agreement: Protocol,
    /// Approval of the privacy policy.
    pub privacy_agreement: Protocol,
    /// Approval of the user agreement.
    pub user_agreement: Protocol,
    /// Approval of the participant application form.
    pub participant_application: Protocol,
    /// Approval of the platform agreement, when the cooperative signed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coopenomics_agreement: Option<Protocol>,
}

impl Vars {
    /// The variables with their addresses normalised, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(mut self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username_at("coopname", &self.coopname);
        for (field, text) in [
            ("full_abbr", &self.full_abbr),
            ("full_abbr_genitive", &self.full_abbr_genitive),
            ("full_abbr_dative", &self.full_abbr_dative),
            ("short_abbr", &self.short_abbr),
            ("name", &self.name),
        ] {
            checks.required(field, text);
        }
        checks.email("confidential_email", &mut self.confidential_email);
        checks.email("contact_email", &mut self.contact_email);
        let protocols = [
            ("wallet_agreement", Some(&self.wallet_agreement)),
            ("signature_agreement", Some(&self.signature_agreement)),
            ("privacy_agreement", Some(&self.privacy_agreement)),
            ("user_agreement", Some(&self.user_agreement)),
            (
                "participant_application",
                Some(&self.participant_application),
            ),
            ("coopenomics_agreement", self.coopenomics_agreement.as_ref()),
        ];
        for (field, protocol) in protocols {
            if let Some(protocol) = protocol {
                checks.required(
                    &format!("{field}.protocol_number"),
                    &protocol.protocol_number,
                );
                checks.required(
                    &format!("{field}.protocol_day_month_year"),
                    &protocol.protocol_day_month_year,
                );
            }
        }
        checks.finish(self)
    }
}

/// A project of a free decision the council is to take; its text stays private until the
/// decision is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// The cooperative's account.
    pub coopname: String,
    /// The project's id.
    pub id: String,
    /// The question put to the council.
    pub question: String,
    /// The decision proposed.
    pub decision: String,
}

impl Project {
    /// The project, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username_at("coopname", &self.coopname);
        checks.required("id", &self.id);
        checks.required("question", &self.question);
        checks.required("decision", &self.decision);
        checks.finish(self)
    }
}

/// The largest signature image kept, decoded.
pub const MAX_SIGNATURE_BYTES: usize = 512 * 1024;

/// A member's handwritten signature, drawn on a screen, placed on the member's application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureImage {
    /// Whose signature it is.
    pub username: String,
    /// A `data:image/png;base64,…` or `data:image/jpeg;base64,…` URL.
    pub signature: String,
}

impl SignatureImage {
    /// The image, or a field error when it is not a PNG or JPEG data URL of at most
    /// [`MAX_SIGNATURE_BYTES`].
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.username(&self.username);
        checks.check("signature", image_data_url(&self.signature));
        checks.finish(self)
    }
}

/// Checks a PNG or JPEG data URL by the image's own signature bytes.
fn image_data_url(text: &str) -> Result<(), Invalid> {
    const EXPECTED: Invalid = Invalid::Format {
        expected: "a data URL of a PNG or JPEG image (data:image/png;base64,…)",
    };
    let (magic, data): (&[u8], &str) =
        if let Some(data) = text.strip_prefix("data:image/png;base64,") {
            (b"\x89PNG\r\n\x1a\n", data)
        } else if let Some(data) = text.strip_prefix("data:image/jpeg;base64,") {
            (b"\xff\xd8\xff", data)
        } else {
            return Err(EXPECTED);
        };
    // Base64 grows data by 4/3: refuse an oversized image before decoding it.
    if data.len() > MAX_SIGNATURE_BYTES / 3 * 4 + 4 {
        return Err(Invalid::Length {
            expected: "at most 512 KiB once decoded",
            got: data.len() / 4 * 3,
        });
    }
    let bytes = STANDARD.decode(data).map_err(|_| EXPECTED)?;
    if bytes.starts_with(magic) {
        Ok(())
    } else {
        Err(EXPECTED)
    }
}

/// Where a document the instance keeps stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredStatus {
    /// Generated, not yet seen on chain.
    Pending,
    /// Seen on chain.
    Accepted,
    /// Declined on chain.
    Rejected,
    /// Never reached the chain before its transaction expired.
    Expired,
}

/// A document the instance keeps in full: what the chain has only the hashes of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDocument {
    /// The document's hash (`document2.hash`), lowercase hex.
    pub hash: String,
    /// The hash of the PDF (`doc_hash`), lowercase hex.
    pub doc_hash: String,
    /// The hash of the meta (`meta_hash`), lowercase hex.
    pub meta_hash: String,
    /// The template's registry id.
    pub registry_id: u64,
    /// The rendered HTML.
    pub html: String,
    /// The PDF, base64.
    pub pdf: String,
    /// The meta: a complete recipe for regenerating the document.
    pub meta: serde_json::Value,
    /// The signatures as `document2` carries them.
    #[serde(default)]
    pub signatures: Vec<serde_json::Value>,
    /// Where it stands.
    pub status: StoredStatus,
}

impl StoredDocument {
    /// The document with its hashes in lowercase, or every field error.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validated(mut self) -> Result<Self, Vec<FieldError>> {
        let mut checks = Checks::default();
        for (field, hash) in [
            ("hash", &mut self.hash),
            ("doc_hash", &mut self.doc_hash),
            ("meta_hash", &mut self.meta_hash),
        ] {
            if let Some(lower) = checks.check(field, sha256_hex(hash)) {
                *hash = lower;
            }
        }
        checks.required("html", &self.html);
        let pdf = STANDARD.decode(&self.pdf).map_err(|_| Invalid::Format {
            expected: "a base64 PDF",
        });
        if let Some(pdf) = checks.check("pdf", pdf) {
            checks.check(
                "pdf",
                if pdf.starts_with(b"%PDF-") {
                    Ok(())
                } else {
                    Err(Invalid::Format {
                        expected: "a base64 PDF",
                    })
                },
            );
        }
        if !self.meta.is_object() {
            checks.check::<()>(
                "meta",
                Err(Invalid::Format {
                    expected: "a JSON object",
                }),
            );
        }
        checks.finish(self)
    }
}

/// A SHA-256 in hex, either case, as lowercase.
pub(crate) fn sha256_hex(text: &str) -> Result<String, Invalid> {
    if text.len() != 64 {
        return Err(Invalid::Length {
            expected: "64",
            got: text.len(),
        });
    }
    if !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Invalid::Characters {
            expected: "hexadecimal digits",
        });
    }
    Ok(text.to_ascii_lowercase())
}

private_record!(Vars, "vars", |record| record.coopname.clone());
private_record!(Project, "project", |record| format!(
    "{}/{}",
    record.coopname, record.id
));
private_record!(SignatureImage, "signature", |record| record
    .username
    .clone());
private_record!(StoredDocument, "document", |record| record.hash.clone());

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|error| error.field).collect()
    }

    #[test]
    fn signature_images_must_be_png_or_jpeg() {
        let png = format!(
            "data:image/png;base64,{}",
            STANDARD.encode(b"\x89PNG\r\n\x1a\nrest")
        );
        let image = |signature: &str| SignatureImage {
            username: "alice".to_owned(),
            signature: signature.to_owned(),
        };
        assert!(image(&png).validated().is_ok());
        let gif = format!("data:image/png;base64,{}", STANDARD.encode(b"GIF89a"));
        for bad in [
            gif.as_str(),
            "data:image/png;base64,@@@",
            "https://example.org/a.png",
        ] {
            assert_eq!(fields(image(bad).validated().unwrap_err()), ["signature"]);
        }
        let huge = format!(
            "data:image/jpeg;base64,{}",
            STANDARD.encode(vec![0xff; MAX_SIGNATURE_BYTES + 1])
        );
        assert_eq!(fields(image(&huge).validated().unwrap_err()), ["signature"]);
    }

    #[test]
    fn stored_documents_have_hashes_and_a_pdf() {
        let document = StoredDocument {
            hash: "AB".repeat(32),
            doc_hash: "cd".repeat(32),
            meta_hash: "ef".repeat(32),
            registry_id: 100,
            html: "<p>Заявление</p>".to_owned(),
            pdf: STANDARD.encode(b"%PDF-1.7\n"),
            meta: serde_json::json!({"registry_id": 100}),
            signatures: Vec::new(),
            status: StoredStatus::Pending,
        };
        let valid = document.clone().validated().expect("valid");
        assert_eq!(valid.hash, "ab".repeat(32));
        assert_eq!(valid.key(), "ab".repeat(32));
        let broken = StoredDocument {
            hash: "xyz".to_owned(),
            pdf: STANDARD.encode(b"<html>"),
            meta: serde_json::json!([]),
            ..document
        };
        assert_eq!(
            fields(broken.validated().unwrap_err()),
            ["hash", "pdf", "meta"]
        );
    }

    #[test]
    fn vars_and_projects_name_every_missing_field() {
        let project = Project {
            coopname: "voskhod".to_owned(),
            id: "1".to_owned(),
            question: String::new(),
            decision: " ".to_owned(),
        };
        assert_eq!(
            fields(project.validated().unwrap_err()),
            ["question", "decision"]
        );
        assert_eq!(Project::KIND, "project");
    }
}
