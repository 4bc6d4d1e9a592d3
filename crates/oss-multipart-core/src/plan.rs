//! Part planning: how a source is cut into parts, decided once before the upload starts.
//!
//! * Known size: a single PutObject at or below [`PlanOptions::single_put_threshold`]; above it,
//!   fixed-size parts. The requested part size is honoured when it is within 100 KiB..=5 GiB and
//!   yields at most 10,000 parts; otherwise it is grown (to a MiB multiple) just enough
//!   ([`Plan::part_size_grown`]).
//! * Unknown size (a stream): part sizes double every [`PlanOptions::stream_parts_per_step`]
//!   parts, starting at [`PlanOptions::stream_initial_part_size`], capped by 5 GiB and by the
//!   memory budget (a part must fit in memory because a stream cannot be re-read for a retry).
//!   [`Plan::max_object_size`] says exactly how large a stream may get; the machine fails with
//!   [`UploadError::StreamTooLong`](crate::UploadError::StreamTooLong) before part 10,001
//!   would be needed, never truncating silently.

use std::ops::Range;

use crate::error::PlanError;
use crate::limits::{MAX_OBJECT_SIZE, MAX_PART_COUNT, MAX_PART_SIZE, MAX_PUT_SIZE, MIN_PART_SIZE};

const MIB: u64 = 1024 * 1024;

/// Whether the source size is known up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceSize {
    /// A file or buffer of this many bytes.
    Known(u64),
    /// A stream of unknown length.
    Unknown,
}

/// Planning knobs. `Default` gives 8 MiB parts, a 5 MiB single-PUT threshold, streams starting at
/// 8 MiB doubling every 16 parts, and a 1 GiB memory budget.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Requested part size for known sizes (100 KiB..=5 GiB).
    pub part_size: u64,
    /// Sources of at most this many bytes go up in one PutObject (≤ 5 GiB; 0 = always
    /// multipart, except an empty source).
    pub single_put_threshold: u64,
    /// First part size of a stream (100 KiB..=5 GiB).
    pub stream_initial_part_size: u64,
    /// Stream parts per doubling step (≥ 1). Smaller reaches larger objects sooner.
    pub stream_parts_per_step: u32,
    /// Bytes of part bodies that may be in flight (buffered) at once. Caps stream part sizes and
    /// limits concurrency for every plan (one part is always allowed).
    pub memory_budget: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            part_size: 8 * MIB,
            single_put_threshold: 5 * MIB,
            stream_initial_part_size: 8 * MIB,
            stream_parts_per_step: 16,
            memory_budget: 1024 * MIB,
        }
    }
}

impl PlanOptions {
    /// Sets [`part_size`](Self::part_size).
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Sets [`single_put_threshold`](Self::single_put_threshold).
    pub fn with_single_put_threshold(mut self, bytes: u64) -> Self {
        self.single_put_threshold = bytes;
        self
    }

    /// Sets [`stream_initial_part_size`](Self::stream_initial_part_size).
    pub fn with_stream_initial_part_size(mut self, bytes: u64) -> Self {
        self.stream_initial_part_size = bytes;
        self
    }

    /// Sets [`stream_parts_per_step`](Self::stream_parts_per_step).
    pub fn with_stream_parts_per_step(mut self, parts: u32) -> Self {
        self.stream_parts_per_step = parts;
        self
    }

    /// Sets [`memory_budget`](Self::memory_budget).
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// The options of an upload of `size` in parts of `part_size` with `concurrency` parts in
    /// flight, the shaping every driver wants:
    ///
    /// * a source of one part or less goes up as a single PutObject;
    /// * a stream keeps `part_size` for [`STREAM_PARTS_PER_STEP`] parts before doubling (up to
    ///   the budget): growing early would make single parts fill the whole budget and
    ///   serialise reading and sending;
    /// * the memory budget is `memory_budget`, or by default one part per slot, counting the
    ///   part size a large known source grows to (more than 10,000 parts), so the budget does
    ///   not silently cut concurrency; it never falls below one part.
    ///
    /// # Errors
    /// [`PlanError::PartSizeOutOfRange`] for a part size outside 100 KiB..=5 GiB, whatever the
    /// source size (a small file would not use it, but the caller asked for it).
    pub fn for_upload(
        size: SourceSize,
        part_size: u64,
        concurrency: usize,
        memory_budget: Option<u64>,
    ) -> Result<Self, PlanError> {
        check_part_size(part_size)?;
        let effective_part = match size {
            SourceSize::Known(total) => part_size.max(total.div_ceil(u64::from(MAX_PART_COUNT))),
            SourceSize::Unknown => part_size,
        };
        let slots = u64::try_from(concurrency.max(1)).unwrap_or(u64::MAX);
        let budget = memory_budget.unwrap_or_else(|| effective_part.saturating_mul(slots));
        Ok(Self {
            part_size,
            single_put_threshold: part_size.min(MAX_PUT_SIZE),
            stream_initial_part_size: part_size,
            stream_parts_per_step: STREAM_PARTS_PER_STEP,
            memory_budget: budget.max(part_size),
        })
    }
}

/// Stream parts per doubling step in [`PlanOptions::for_upload`]: with 8 MiB parts and the
/// default budget, capacity stays in the hundreds of GB.
pub const STREAM_PARTS_PER_STEP: u32 = 1000;

/// One part of a plan: its number and the byte range of the caller's source it covers.
///
/// For streams, `len` is the most the part may hold; the driver reports how much it really read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PartRange {
    /// 1-based part number.
    pub part_number: u32,
    /// Offset in the source.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl PartRange {
    /// `offset..offset + len`.
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset.saturating_add(self.len)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Single {
        size: u64,
    },
    Fixed {
        total: u64,
        part_size: u64,
        count: u32,
    },
    Stream {
        initial: u64,
        per_step: u32,
        cap: u64,
    },
}

/// A validated plan. Build it with [`Plan::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub(crate) shape: Shape,
    pub(crate) memory_budget: u64,
    grown: bool,
}

fn check_part_size(size: u64) -> Result<(), PlanError> {
    if (MIN_PART_SIZE..=MAX_PART_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(PlanError::PartSizeOutOfRange {
            requested: size,
            min: MIN_PART_SIZE,
            max: MAX_PART_SIZE,
        })
    }
}

impl Plan {
    /// Plans an upload of `size` under `options`.
    ///
    /// # Errors
    /// [`PlanError`] when an option is out of bounds or the object would exceed OSS limits.
    pub fn new(size: SourceSize, options: &PlanOptions) -> Result<Self, PlanError> {
        if options.memory_budget < MIN_PART_SIZE {
            return Err(PlanError::MemoryBudgetTooSmall {
                budget: options.memory_budget,
                min: MIN_PART_SIZE,
            });
        }
        if options.single_put_threshold > MAX_PUT_SIZE {
            return Err(PlanError::ThresholdTooLarge {
                threshold: options.single_put_threshold,
                max: MAX_PUT_SIZE,
            });
        }
        match size {
            SourceSize::Known(total) => Self::known(total, options),
            SourceSize::Unknown => {
                check_part_size(options.stream_initial_part_size)?;
                if options.stream_parts_per_step == 0 {
                    return Err(PlanError::InvalidStreamSchedule);
                }
                let cap = MAX_PART_SIZE
                    .min(options.memory_budget)
                    .max(options.stream_initial_part_size);
                if cap > options.memory_budget {
                    return Err(PlanError::MemoryBudgetTooSmall {
                        budget: options.memory_budget,
                        min: options.stream_initial_part_size,
                    });
                }
                Ok(Self {
                    shape: Shape::Stream {
                        initial: options.stream_initial_part_size,
                        per_step: options.stream_parts_per_step,
                        cap,
                    },
                    memory_budget: options.memory_budget,
                    grown: false,
                })
            }
        }
    }

    fn known(total: u64, options: &PlanOptions) -> Result<Self, PlanError> {
        if total > MAX_OBJECT_SIZE {
            return Err(PlanError::ObjectTooLarge {
                size: total,
                max: MAX_OBJECT_SIZE,
            });
        }
        if total == 0 || total <= options.single_put_threshold {
            return Ok(Self {
                shape: Shape::Single { size: total },
                memory_budget: options.memory_budget,
                grown: false,
            });
        }
        check_part_size(options.part_size)?;
        let needed = total.div_ceil(u64::from(MAX_PART_COUNT));
        let (part_size, grown) = if options.part_size >= needed {
            (options.part_size, false)
        } else {
            // Round to a MiB so part boundaries stay aligned; 5 GiB is a MiB multiple, and
            // `needed` ≤ 5 GiB because `total` ≤ MAX_OBJECT_SIZE.
            (
                needed
                    .div_ceil(MIB)
                    .saturating_mul(MIB)
                    .clamp(MIN_PART_SIZE, MAX_PART_SIZE),
                true,
            )
        };
        let count =
            u32::try_from(total.div_ceil(part_size)).map_err(|_| PlanError::ObjectTooLarge {
                size: total,
                max: MAX_OBJECT_SIZE,
            })?;
        if count > MAX_PART_COUNT {
            return Err(PlanError::ObjectTooLarge {
                size: total,
                max: MAX_OBJECT_SIZE,
            });
        }
        Ok(Self {
            shape: Shape::Fixed {
                total,
                part_size,
                count,
            },
            memory_budget: options.memory_budget,
            grown,
        })
    }

    /// Rebuilds a fixed plan from checkpoint data, re-validating it.
    pub(crate) fn fixed(total: u64, part_size: u64, memory_budget: u64) -> Result<Self, PlanError> {
        check_part_size(part_size)?;
        let count = total.div_ceil(part_size);
        if total == 0 || count > u64::from(MAX_PART_COUNT) {
            return Err(PlanError::CheckpointInvalid {
                reason: "plan out of bounds",
            });
        }
        Ok(Self {
            shape: Shape::Fixed {
                total,
                part_size,
                count: count as u32,
            },
            memory_budget: memory_budget.max(MIN_PART_SIZE),
            grown: false,
        })
    }

    /// True when the whole source goes up in one PutObject.
    pub fn is_single_put(&self) -> bool {
        matches!(self.shape, Shape::Single { .. })
    }

    /// True for an unknown-size (stream) plan.
    pub fn is_stream(&self) -> bool {
        matches!(self.shape, Shape::Stream { .. })
    }

    /// Total bytes, when known.
    pub fn total_size(&self) -> Option<u64> {
        match self.shape {
            Shape::Single { size } => Some(size),
            Shape::Fixed { total, .. } => Some(total),
            Shape::Stream { .. } => None,
        }
    }

    /// Number of parts for a multipart plan of known size (`None` for single PUT and streams).
    pub fn part_count(&self) -> Option<u32> {
        match self.shape {
            Shape::Fixed { count, .. } => Some(count),
            _ => None,
        }
    }

    /// Part size of a fixed plan (`None` for single PUT and streams).
    pub fn part_size(&self) -> Option<u64> {
        match self.shape {
            Shape::Fixed { part_size, .. } => Some(part_size),
            _ => None,
        }
    }

    /// Whether the requested part size had to grow to stay within 10,000 parts.
    pub fn part_size_grown(&self) -> bool {
        self.grown
    }

    /// The memory budget in bytes.
    pub fn memory_budget(&self) -> u64 {
        self.memory_budget
    }

    /// Largest object this plan can upload: the total for known sizes; for streams, the sum of all
    /// 10,000 scheduled part sizes.
    pub fn max_object_size(&self) -> u64 {
        match self.shape {
            Shape::Single { size } => size,
            Shape::Fixed { total, .. } => total,
            Shape::Stream { .. } => self.stream_offset(MAX_PART_COUNT + 1),
        }
    }

    /// Part `n` (1-based), or `None` outside the plan. For a single PUT, part 1 is the whole body.
    pub fn part(&self, n: u32) -> Option<PartRange> {
        if n == 0 {
            return None;
        }
        match self.shape {
            Shape::Single { size } => (n == 1).then_some(PartRange {
                part_number: 1,
                offset: 0,
                len: size,
            }),
            Shape::Fixed {
                total,
                part_size,
                count,
            } => {
                if n > count {
                    return None;
                }
                let offset = u64::from(n - 1) * part_size;
                Some(PartRange {
                    part_number: n,
                    offset,
                    len: part_size.min(total - offset),
                })
            }
            Shape::Stream { .. } => (n <= MAX_PART_COUNT).then(|| PartRange {
                part_number: n,
                offset: self.stream_offset(n),
                len: self.stream_size(n),
            }),
        }
    }

    /// Every part of a known-size plan, in order (empty for streams).
    pub fn parts(&self) -> impl Iterator<Item = PartRange> + '_ {
        let count = match self.shape {
            Shape::Single { .. } => 1,
            Shape::Fixed { count, .. } => count,
            Shape::Stream { .. } => 0,
        };
        (1..=count).filter_map(|n| self.part(n))
    }

    fn stream_size(&self, n: u32) -> u64 {
        match self.shape {
            Shape::Stream {
                initial,
                per_step,
                cap,
            } => {
                let step = (n - 1) / per_step;
                if step >= 40 {
                    cap
                } else {
                    initial.saturating_mul(1u64 << step).min(cap)
                }
            }
            _ => 0,
        }
    }

    /// Sum of the sizes of parts `1..n`.
    fn stream_offset(&self, n: u32) -> u64 {
        let Shape::Stream { per_step, .. } = self.shape else {
            return 0;
        };
        let mut offset = 0u64;
        let mut first = 1u32; // first part of the current step
        while first < n {
            let size = self.stream_size(first);
            if let Shape::Stream { cap, .. } = self.shape
                && size >= cap
            {
                // Every later part has the capped size.
                return offset.saturating_add(cap.saturating_mul(u64::from(n - first)));
            }
            let in_step = per_step.min(n - first);
            offset = offset.saturating_add(size.saturating_mul(u64::from(in_step)));
            first = first.saturating_add(per_step);
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_shaping() {
        let part = 8 * MIB;
        let o = PlanOptions::for_upload(SourceSize::Known(100 * MIB), part, 4, None).unwrap();
        assert_eq!((o.single_put_threshold, o.memory_budget), (part, 4 * part));
        assert_eq!(o.stream_parts_per_step, STREAM_PARTS_PER_STEP);
        // 100 GB in 8 MiB parts would exceed 10,000 parts: the budget counts the grown part.
        let big = 100_000 * MIB;
        let o = PlanOptions::for_upload(SourceSize::Known(big), part, 2, None).unwrap();
        assert_eq!(o.memory_budget, 2 * big.div_ceil(10_000));
        let o = PlanOptions::for_upload(SourceSize::Unknown, part, 4, Some(MIB)).unwrap();
        assert_eq!(o.memory_budget, part, "never below one part");
        assert!(Plan::new(SourceSize::Unknown, &o).is_ok());
        for bad in [0, MIN_PART_SIZE - 1, MAX_PART_SIZE + 1, u64::MAX] {
            assert!(matches!(
                PlanOptions::for_upload(SourceSize::Known(10), bad, 4, None),
                Err(PlanError::PartSizeOutOfRange { .. })
            ));
        }
    }

    #[test]
    fn small_is_single_put() {
        let p = Plan::new(SourceSize::Known(10), &PlanOptions::default()).unwrap();
        assert!(p.is_single_put());
        assert_eq!(
            p.part(1),
            Some(PartRange {
                part_number: 1,
                offset: 0,
                len: 10
            })
        );
        let p = Plan::new(
            SourceSize::Known(0),
            &PlanOptions {
                single_put_threshold: 0,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(p.is_single_put());
    }

    #[test]
    fn grows_to_fit_10000_parts() {
        let total = 200 * 1024 * MIB; // 200 GiB at 8 MiB would be 25,600 parts
        let p = Plan::new(SourceSize::Known(total), &PlanOptions::default()).unwrap();
        assert!(p.part_size_grown());
        assert!(p.part_count().unwrap() <= MAX_PART_COUNT);
        assert_eq!(p.part_size().unwrap() % MIB, 0);
        let max = Plan::new(SourceSize::Known(MAX_OBJECT_SIZE), &PlanOptions::default()).unwrap();
        assert_eq!(max.part_count(), Some(MAX_PART_COUNT));
        assert_eq!(max.part_size(), Some(MAX_PART_SIZE));
        assert!(matches!(
            Plan::new(
                SourceSize::Known(MAX_OBJECT_SIZE + 1),
                &PlanOptions::default()
            ),
            Err(PlanError::ObjectTooLarge { .. })
        ));
    }

    #[test]
    fn user_size_honoured_or_rejected() {
        let opts = PlanOptions {
            part_size: 200_000,
            single_put_threshold: 0,
            ..Default::default()
        };
        let p = Plan::new(SourceSize::Known(1_000_000), &opts).unwrap();
        assert_eq!(p.part_size(), Some(200_000));
        assert_eq!(p.part_count(), Some(5));
        assert!(!p.part_size_grown());
        let bad = PlanOptions {
            part_size: 1000,
            single_put_threshold: 0,
            ..Default::default()
        };
        assert!(matches!(
            Plan::new(SourceSize::Known(1_000_000), &bad),
            Err(PlanError::PartSizeOutOfRange { .. })
        ));
    }

    #[test]
    fn stream_schedule_grows_and_is_bounded() {
        let p = Plan::new(SourceSize::Unknown, &PlanOptions::default()).unwrap();
        assert_eq!(p.part(1).unwrap().len, 8 * MIB);
        assert_eq!(p.part(17).unwrap().len, 16 * MIB);
        assert_eq!(p.part(17).unwrap().offset, 16 * 8 * MIB);
        assert_eq!(p.part(10_000).unwrap().len, 1024 * MIB); // capped by the 1 GiB budget
        assert!(p.part(10_001).is_none());
        let big = PlanOptions {
            memory_budget: 8 * 1024 * MIB,
            ..Default::default()
        };
        let p = Plan::new(SourceSize::Unknown, &big).unwrap();
        // ≥ 98 % of the 48.8 TiB limit with the default schedule and a 5 GiB+ budget.
        assert!(
            p.max_object_size() > MAX_OBJECT_SIZE / 100 * 98,
            "{}",
            p.max_object_size()
        );
        let last = p.part(10_000).unwrap();
        assert_eq!(last.offset + last.len, p.max_object_size());
    }
}
