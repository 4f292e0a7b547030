//! `suppressions` (R17): contacts that objected, by blind index only, kept beyond erasure.

use hoheit_domain::ids::TenantId;
use hoheit_domain::inbound::ContactKey;
use hoheit_domain::objection::{ObjectionScope, Suppression};
use hoheit_domain::ports::StoreError;
use sea_orm::{ColumnTrait, QueryFilter};

use crate::batch::Write;
use crate::codec::{contact_text, db_error, from_micros, micros};
use crate::entity::{self, scoped};
use crate::shared::Shared;

/// Adds and lifts suppression entries.
pub(crate) async fn apply(
    w: &mut Write<'_>,
    added: &[(ContactKey, Suppression)],
    lifted: &[ContactKey],
) -> Result<(), StoreError> {
    if added.is_empty() && lifted.is_empty() {
        return Ok(());
    }
    let err = |e: sea_orm::DbErr| db_error(&e);
    let key = w.tenant_key().await?;
    for (contact, suppression) in added {
        w.exec(
            "INSERT INTO suppressions (tenant_id, blind, scope, since) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, blind) DO NOTHING",
            vec![
                w.t(),
                key.blind_index(&contact_text(contact)).to_vec().into(),
                suppression.scope.as_str().into(),
                micros(suppression.since).into(),
            ],
        )
        .await
        .map_err(err)?;
    }
    for contact in lifted {
        w.exec(
            "DELETE FROM suppressions WHERE tenant_id = $1 AND blind = $2",
            vec![w.t(), key.blind_index(&contact_text(contact)).to_vec().into()],
        )
        .await
        .map_err(err)?;
    }
    Ok(())
}

/// The suppression entry for a contact.
pub(crate) async fn of_contact(
    shared: &Shared,
    tenant: TenantId,
    contact: &ContactKey,
) -> Result<Option<Suppression>, StoreError> {
    let t = tenant.as_uuid();
    let Some(key) = shared.tenant_key_if_any(t).await? else { return Ok(None) };
    let blind = key.blind_index(&contact_text(contact)).to_vec();
    let row = scoped::<entity::suppressions::Entity>(t)
        .filter(entity::suppressions::Column::Blind.eq(blind))
        .one(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    row.map(|r| Ok(Suppression { scope: ObjectionScope::AllWhatsApp, since: from_micros(r.since)? })).transpose()
}
