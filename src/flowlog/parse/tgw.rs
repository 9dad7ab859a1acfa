//! A Transit Gateway record's own columns, read after the ones it shares
//! with VPC records: the attachment in the interface's place, and a drop
//! (any `packets-lost-*` above 0) as REJECT (`flowlog::tgw` says why).

use super::scalar::parse_u64;
use super::{LineError, SkipReason};
use crate::flowlog::format::{Field, Format, TgwField};
use crate::flowlog::record::{Action, EniId, FlowRecord};
use crate::flowlog::tgw::is_tgw_format;

/// What the parser does for a TGW format's records beyond the columns it
/// shares with VPC formats (`Parser::new` makes one when the format has a
/// TGW-only field; the VPC paths never see it).
#[derive(Debug, Clone)]
pub struct TgwColumns {
    attachment: Option<usize>,
    lost: Vec<usize>,
}

impl TgwColumns {
    /// The TGW columns of a format, if it is a TGW one.
    pub fn of(format: &Format) -> Option<Box<TgwColumns>> {
        if !is_tgw_format(format) {
            return None;
        }
        let idx = |f: TgwField| format.index_of(&Field::Tgw(f));
        Some(Box::new(TgwColumns {
            attachment: idx(TgwField::AttachmentId),
            lost: [
                TgwField::LostNoRoute,
                TgwField::LostBlackhole,
                TgwField::LostMtuExceeded,
                TgwField::LostTtlExpired,
            ]
            .into_iter()
            .filter_map(idx)
            .collect(),
        }))
    }

    /// Completes a record the parser read (its field count is right):
    /// the attachment in the interface's place, and a drop as REJECT.
    #[inline(never)]
    pub fn apply(&self, line: &[u8], rec: &mut FlowRecord) -> Result<(), LineError> {
        let mut lost = 0u64;
        let mut attachment: &[u8] = b"-";
        for (i, tok) in line
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            if Some(i) == self.attachment {
                attachment = tok;
            } else if self.lost.contains(&i) && tok != b"-" {
                let n = parse_u64(tok).ok_or(LineError {
                    reason: SkipReason::BadNumber,
                    column: Some(i),
                    found: 0,
                })?;
                lost = lost.saturating_add(n);
            }
        }
        if self.attachment.is_some() {
            rec.interface = EniId::attachment(attachment);
        }
        rec.action = if lost > 0 {
            Action::Reject
        } else {
            Action::Unknown
        };
        Ok(())
    }
}
