//! Issue 13 / 14: WhatsApp message ids (wamids) are personal data: WhatsApp builds them as
//! base64 of a structure that begins with the customer's number.
//!
//! From this version `messages.provider_id` and `message_statuses.provider_id` hold a keyed hash
//! of the provider id (`hmac:` + 64 hex digits: HMAC-SHA256 with a key derived from the tenant
//! key under the label `hoheit/v1/provider-id`), `messages.reply_to` stays NULL, and the ids
//! themselves (needed to answer 360Dialog: context, mark-read) are sealed with the candidate key
//! in the new column `messages.provider_ref`, so erasure shreds them. `erased_provider_ids`
//! keeps the hashes of an erased candidate's provider ids (no content) for the replay window,
//! so a redelivered pre-erasure webhook stays a duplicate.
//!
//! A migration has no keys, so this one changes the schema only; `SeaStore::migrate` converts
//! the rows written before (hash, seal, strip the wamids from erasure tombstones) right after
//! it, idempotently (rows already hashed are recognised by the `hmac:` prefix).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

const SCHEMA: &str = r"
ALTER TABLE messages ADD COLUMN provider_ref {blob};
CREATE TABLE erased_provider_ids (
    tenant_id {blob} NOT NULL REFERENCES tenants(id),
    provider_id TEXT NOT NULL,
    until_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, provider_id)
);
CREATE INDEX erased_provider_ids_until ON erased_provider_ids (tenant_id, until_at);
";

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS erased_provider_ids_until",
    "DROP TABLE IF EXISTS erased_provider_ids",
    "ALTER TABLE messages DROP COLUMN provider_ref",
];

statements!(up: |backend| super::script(SCHEMA, backend), down: |_| DOWN);
