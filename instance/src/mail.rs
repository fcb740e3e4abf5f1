//! E-mail the instance sends (one-time key reset tokens): a [`Mailer`] trait the API holds, and
//! [`SmtpMailer`], which sends over SMTP with lettre. Tests give the API their own mailer.
//!
//! Architecture invariant: a message's body may carry a secret (a token); it is never logged,
//! and neither is the recipient's address.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One message to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may carry a token and the address is personal data.
        f.debug_struct("Mail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An address is not a mailbox.
    #[error("{field} is not an e-mail address")]
    Address {
        /// Which address (`to`, `from`).
        field: &'static str,
        /// The parse failure.
        #[source]
        source: lettre::address::AddressError,
    },
    /// The message could not be built.
    #[error("building the message")]
    Build(#[source] lettre::error::Error),
    /// The SMTP URL is not valid.
    #[error("the SMTP URL is not valid")]
    Url(#[source] lettre::transport::smtp::Error),
    /// The SMTP server refused or could not be reached.
    #[error("sending over SMTP")]
    Send(#[source] lettre::transport::smtp::Error),
}

/// Sends e-mail.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail`.
    ///
    /// # Errors
    /// [`Error`] when it was not sent.
    async fn send(&self, mail: &Mail) -> Result<(), Error>;
}

/// Sends over SMTP from one address.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for the server at `url` (`smtps://user:password@host` for TLS,
    /// `smtp://host:587?tls=required` for STARTTLS, `smtp://host:25` for plain SMTP on a
    /// trusted network), sending from `from`.
    ///
    /// # Errors
    /// [`Error::Url`] or [`Error::Address`].
    pub fn new(url: &str, from: &str) -> Result<Self, Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(Error::Url)?
            .build();
        let from = from.parse().map_err(|source| Error::Address {
            field: "from",
            source,
        })?;
        Ok(Self { transport, from })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), Error> {
        let to: Mailbox = mail.to.parse().map_err(|source| Error::Address {
            field: "to",
            source,
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(Error::Build)?;
        self.transport.send(message).await.map_err(Error::Send)?;
        Ok(())
    }
}
