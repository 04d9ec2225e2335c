//! A Salesforce client built for sync.
//!
//! It spends as few API calls as the platform allows (sObject Collections in chunks of 200,
//! query pages of 2000, describes cached), survives token expiry (one single-flight refresh per
//! expiry) and transient faults (idempotent calls retried in-client), and tells the engine what
//! kind of failure happened ([`ErrorKind`]: retry, wait for quota, fix auth, wait for a parent,
//! give up). The one record call REST lacks, `undelete`, goes through the SOAP partner API
//! ([`Client::undelete_many`]) on the same session. It shares no code with the emulator it is
//! tested against.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sfclient::SfError> {
//! use sfclient::{AuthFlow, Client, OrgConfig, Secret};
//! let auth = AuthFlow::Password {
//!     client_id: "sfemu-client".into(),
//!     client_secret: Secret::from("sfemu-secret"),
//!     username: "admin@sfemu.test".into(),
//!     password: Secret::from("sfemu"),
//! };
//! let client = Client::connect(OrgConfig::new("prod", "https://login.salesforce.com", auth)).await?;
//! let saved = client.upsert_many("Account", "Ext__c", &[]).await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod budget;
mod client;
pub mod error;
mod http;
pub mod rest;
pub mod secret;
pub mod soap;
pub mod values;

pub use auth::{AuthFlow, JwtKey, Token};
pub use budget::{BudgetSnapshot, Ceiling, LimitInfo, Usage};
pub use client::{Client, OrgConfig, RetryPolicy, Session, Timeouts};
pub use error::{ApiError, ErrorKind, MissingParentRef, Result, SfError};
pub use rest::collections::ItemResult;
pub use rest::composite::{SubResponse, Subrequest};
pub use rest::describe::{FieldDescribe, ObjectDescribe};
pub use rest::files::{ByteStream, Download, NewVersion};
pub use rest::limits::OrgLimits;
pub use rest::query::QueryPage;
pub use rest::records::{SaveResult, Saved};
pub use rest::replication::{DeletedRecord, DeletedRecords, UpdatedIds};
pub use secret::Secret;
pub use values::Record;
