//! Upload quotas per user: bytes uploaded in the last 24 hours, and bytes
//! kept (attachments whose message was recalled or burned no longer count
//! as kept, but still count for the day, so upload-and-recall cannot churn
//! the disk).
//!
//! The store says what a user has used; [`InFlight`] adds what their
//! uploads still being read may bring, so a hundred parallel uploads cannot
//! each pass the check alone; [`check`] decides. An upload is checked twice:
//! before its body is read (with the length it announces) and when it is
//! stored (with the bytes that came), the second time under the same lock
//! as the store's insert, so two uploads that finish together cannot both
//! take the last of a quota.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The window of the daily quota.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// What a user has used, as the store counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes uploaded in the last 24 hours.
    pub day: u64,
    /// Bytes of the user's attachments still kept.
    pub kept: u64,
}

/// The limits (from the relay's `[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_day: u64,
    pub total: u64,
}

/// Why an upload was refused; the text is for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaExceeded {
    #[error("this file would take you past {} of uploads in 24 hours on this relay ({} used); try again tomorrow", size(*limit), size(*used))]
    Day { used: u64, limit: u64 },
    #[error("this file would take you past the {} this relay keeps for one user ({} used); recall old messages with files to make room", size(*limit), size(*used))]
    Total { used: u64, limit: u64 },
}

fn size(n: u64) -> String {
    let (v, unit) = match n {
        0..1024 => return format!("{n} bytes"),
        1024..1_048_576 => (n as f64 / 1024.0, "KiB"),
        _ => (n as f64 / 1_048_576.0, "MiB"),
    };
    // One decimal, none when it is a whole number: 200 MiB, 4.9 KiB.
    let s = format!("{v:.1}");
    format!("{} {unit}", s.strip_suffix(".0").unwrap_or(&s))
}

/// May a user who has used `usage`, with `pending` bytes more on the way,
/// add `n` bytes?
pub fn check(usage: Usage, pending: u64, n: u64, q: Quota) -> Result<(), QuotaExceeded> {
    let day = usage.day.saturating_add(pending);
    if day.saturating_add(n) > q.per_day {
        return Err(QuotaExceeded::Day {
            used: day,
            limit: q.per_day,
        });
    }
    let kept = usage.kept.saturating_add(pending);
    if kept.saturating_add(n) > q.total {
        return Err(QuotaExceeded::Total {
            used: kept,
            limit: q.total,
        });
    }
    Ok(())
}

/// Bytes each user's uploads being read now may still add (this relay
/// process only).
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<String, u64>>);

/// Bytes held for one upload until it is stored or dropped.
#[derive(Debug)]
pub struct Hold<'a> {
    set: &'a InFlight,
    user: String,
    n: u64,
}

impl InFlight {
    fn map(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        // The map only counts bytes; a panic elsewhere leaves it usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes held for `user` now.
    pub fn pending(&self, user: &str) -> u64 {
        self.map().get(user).copied().unwrap_or(0)
    }

    /// Before the body: may `user` start an upload that announces
    /// `announced` bytes? If so, `hold` bytes (at least what may come)
    /// count as theirs until the [`Hold`] is finished or dropped.
    pub fn start<E: From<QuotaExceeded>>(
        &self,
        user: &str,
        announced: u64,
        hold: u64,
        q: Quota,
        usage: impl FnOnce() -> Result<Usage, E>,
    ) -> Result<Hold<'_>, E> {
        let mut map = self.map();
        let pending = map.get(user).copied().unwrap_or(0);
        check(usage()?, pending, announced, q)?;
        *map.entry(user.to_string()).or_insert(0) += hold;
        Ok(Hold {
            set: self,
            user: user.to_string(),
            n: hold,
        })
    }

    /// After the body: do the `n` bytes that came fit? If so `store` runs
    /// (it records the upload, so the next [`Usage`] counts it) before any
    /// other upload is checked. The hold is released either way.
    pub fn finish<T, E: From<QuotaExceeded>>(
        &self,
        mut hold: Hold<'_>,
        n: u64,
        q: Quota,
        usage: impl FnOnce() -> Result<Usage, E>,
        store: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let mut map = self.map();
        let others = map
            .get(&hold.user)
            .copied()
            .unwrap_or(0)
            .saturating_sub(hold.n);
        let out = usage()
            .and_then(|u| check(u, others, n, q).map_err(E::from))
            .and_then(|()| store());
        release(&mut map, &hold.user, hold.n);
        hold.n = 0;
        out
    }
}

fn release(map: &mut HashMap<String, u64>, user: &str, n: u64) {
    if let Some(v) = map.get_mut(user) {
        *v = v.saturating_sub(n);
        if *v == 0 {
            map.remove(user);
        }
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            release(&mut self.set.map(), &self.user, self.n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Quota = Quota {
        per_day: 1000,
        total: 1500,
    };
    type R<T> = Result<T, QuotaExceeded>;

    fn used(day: u64, kept: u64) -> impl FnOnce() -> R<Usage> {
        move || Ok(Usage { day, kept })
    }

    #[test]
    fn the_day_and_the_total_are_both_limits_up_to_the_byte() {
        assert_eq!(
            check(
                Usage {
                    day: 400,
                    kept: 400
                },
                0,
                600,
                Q
            ),
            Ok(())
        );
        assert_eq!(
            check(
                Usage {
                    day: 400,
                    kept: 400
                },
                0,
                601,
                Q
            ),
            Err(QuotaExceeded::Day {
                used: 400,
                limit: 1000
            })
        );
        // Recalled files left `kept` but not `day`.
        assert_eq!(check(Usage { day: 0, kept: 1000 }, 0, 500, Q), Ok(()));
        assert_eq!(
            check(Usage { day: 0, kept: 1000 }, 0, 501, Q),
            Err(QuotaExceeded::Total {
                used: 1000,
                limit: 1500
            })
        );
        // Bytes on the way count as used.
        assert_eq!(
            check(Usage { day: 0, kept: 0 }, 900, 101, Q),
            Err(QuotaExceeded::Day {
                used: 900,
                limit: 1000
            })
        );
        // Absurd numbers from a peer saturate instead of wrapping.
        assert!(check(Usage { day: 1, kept: 1 }, 0, u64::MAX, Q).is_err());
        assert!(check(
            Usage {
                day: u64::MAX,
                kept: 0
            },
            u64::MAX,
            0,
            Q
        )
        .is_err());
    }

    #[test]
    fn refusals_say_which_limit_and_what_to_do() {
        let day = QuotaExceeded::Day {
            used: 150 * 1024 * 1024,
            limit: 200 * 1024 * 1024,
        }
        .to_string();
        assert!(
            day.contains("200 MiB of uploads in 24 hours")
                && day.contains("150 MiB used")
                && day.contains("tomorrow"),
            "{day}"
        );
        let total = QuotaExceeded::Total {
            used: 3000,
            limit: 5000,
        }
        .to_string();
        assert!(
            total.contains("4.9 KiB this relay keeps")
                && total.contains("2.9 KiB used")
                && total.contains("recall"),
            "{total}"
        );
        assert!(QuotaExceeded::Day {
            used: 0,
            limit: 2048
        }
        .to_string()
        .contains("past 2 KiB"));
        assert!(QuotaExceeded::Total { used: 5, limit: 10 }
            .to_string()
            .contains("10 bytes"));
    }

    #[test]
    fn parallel_uploads_cannot_each_pass_alone() {
        let f = InFlight::default();
        // Three uploads of 400 announced at once: the third would not fit.
        let a = f.start("ann", 400, 400, Q, used(0, 0)).unwrap();
        let b = f.start("ann", 400, 400, Q, used(0, 0)).unwrap();
        assert_eq!(
            f.start("ann", 400, 400, Q, used(0, 0)).unwrap_err(),
            QuotaExceeded::Day {
                used: 800,
                limit: 1000
            }
        );
        // Another user's uploads are theirs.
        let c = f.start("bob", 400, 400, Q, used(0, 0)).unwrap();
        assert_eq!(f.pending("ann"), 800);
        // A stored upload counts through the store, no longer as held.
        f.finish(a, 400, Q, used(0, 0), || Ok(())).unwrap();
        assert_eq!(f.pending("ann"), 400);
        // A dropped one (the client went away) frees its hold.
        drop(b);
        assert_eq!(f.pending("ann"), 0);
        drop(c);
        assert!(
            f.map().is_empty(),
            "no entry is left for users with nothing held"
        );
    }

    #[test]
    fn an_upload_without_a_length_holds_the_most_it_may_bring_and_is_checked_on_arrival() {
        let f = InFlight::default();
        // Chunked: nothing announced, the size limit held.
        let a = f.start("ann", 0, 700, Q, used(0, 0)).unwrap();
        assert!(f.start("ann", 400, 400, Q, used(0, 0)).is_err());
        // What came is checked against what the store already counts.
        let mut stored = false;
        let e = f.finish(a, 700, Q, used(400, 400), || {
            stored = true;
            Ok(())
        });
        assert_eq!(
            e.unwrap_err(),
            QuotaExceeded::Day {
                used: 400,
                limit: 1000
            }
        );
        assert!(!stored, "a refused upload is not recorded");
        assert_eq!(f.pending("ann"), 0, "the hold is released when refused too");
        // A store failure is the caller's error, and the hold goes too.
        let b = f.start("ann", 10, 10, Q, used(0, 0)).unwrap();
        assert!(f
            .finish(b, 10, Q, used(0, 0), || Err::<(), _>(
                QuotaExceeded::Total { used: 0, limit: 0 }
            ))
            .is_err());
        assert_eq!(f.pending("ann"), 0);
    }
}
