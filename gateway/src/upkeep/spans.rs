//! Half-open time spans `[start, end)` in milliseconds and the set
//! arithmetic the service levels need: union, clip, subtract, length.
//!
//! Pure arithmetic on sorted, merged lists; never reads a clock and never
//! panics (empty or inverted spans are dropped).

use retrofit_protocols::Timestamp;

/// A half-open span `[start, end)`, milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub fn new(start: i64, end: i64) -> Self {
        Self { start, end }
    }

    /// The span between two timestamps.
    pub fn between(from: Timestamp, to: Timestamp) -> Self {
        Self::new(from.as_millis(), to.as_millis())
    }

    pub fn len(self) -> i64 {
        (self.end - self.start).max(0)
    }

    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    pub fn contains(self, t: i64) -> bool {
        self.start <= t && t < self.end
    }

    /// The part of `self` inside `other`, if any.
    pub fn clip(self, other: Span) -> Option<Span> {
        let s = Span::new(self.start.max(other.start), self.end.min(other.end));
        (!s.is_empty()).then_some(s)
    }
}

/// A set of disjoint, sorted, non-touching spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanSet(Vec<Span>);

impl SpanSet {
    /// The union of `spans` (overlapping and touching spans merge).
    pub fn union_of(spans: impl IntoIterator<Item = Span>) -> Self {
        let mut all: Vec<Span> = spans.into_iter().filter(|s| !s.is_empty()).collect();
        all.sort_unstable();
        let mut out: Vec<Span> = Vec::with_capacity(all.len());
        for s in all {
            match out.last_mut() {
                Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
                _ => out.push(s),
            }
        }
        Self(out)
    }

    pub fn spans(&self) -> &[Span] {
        &self.0
    }

    /// Total length.
    pub fn len(&self) -> i64 {
        self.0.iter().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parts inside `window`.
    pub fn clip(&self, window: Span) -> SpanSet {
        Self(self.0.iter().filter_map(|s| s.clip(window)).collect())
    }

    /// Whether `t` lies in one of the spans.
    pub fn contains(&self, t: i64) -> bool {
        self.0.iter().any(|s| s.contains(t))
    }

    /// The parts of `self` outside every span of `other`.
    pub fn minus(&self, other: &SpanSet) -> SpanSet {
        let mut out = Vec::new();
        for s in &self.0 {
            let mut rest = *s;
            for o in &other.0 {
                if o.end <= rest.start || o.start >= rest.end {
                    continue;
                }
                if o.start > rest.start {
                    out.push(Span::new(rest.start, o.start));
                }
                rest.start = rest.start.max(o.end);
            }
            if !rest.is_empty() {
                out.push(rest);
            }
        }
        Self(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(spans: &[(i64, i64)]) -> SpanSet {
        SpanSet::union_of(spans.iter().map(|&(a, b)| Span::new(a, b)))
    }

    #[test]
    fn union_merges_overlapping_and_touching() {
        let s = set(&[(5, 8), (0, 2), (1, 3), (3, 4), (10, 10), (9, 7)]);
        assert_eq!(s, set(&[(0, 4), (5, 8)]));
        assert_eq!(s.len(), 4 + 3);
    }

    #[test]
    fn clip_and_minus() {
        let s = set(&[(0, 10), (20, 30)]);
        assert_eq!(s.clip(Span::new(5, 25)), set(&[(5, 10), (20, 25)]));
        let m = set(&[(2, 4), (8, 22), (28, 40)]);
        assert_eq!(s.minus(&m), set(&[(0, 2), (4, 8), (22, 28)]));
        assert_eq!(s.minus(&SpanSet::default()), s);
        assert!(s.contains(0) && !s.contains(10) && s.contains(29));
    }
}
