//! Typed labels: closed sets of values as Rust enums, free-form values made explicit.
//!
//! A label *kind* ([`LabelKind`]) says which values a label may take. Enums declared with
//! [`label_enum!`](crate::label_enum) are closed: a typo or an unbounded value does not
//! compile. [`FreeForm`] is the explicit opt-in for values that are only known at run time
//! (a model name, a database name); instruments using it are protected by a cardinality limit
//! (see [`cardinality_views`](crate::cardinality_views)).
//!
//! A label *set* ([`LabelSet`]) is what an instrument is recorded with: `()` for no labels, a
//! single kind (`CheckpointOp`), or a tuple of up to four kinds (`(Tool, Status)`).

use opentelemetry::{Key, KeyValue, StringValue, Value};

/// The values a label may take, as generated docs and dashboards list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelValues {
    /// A closed set of values (a Rust enum).
    Closed(&'static [&'static str]),
    /// Any string: bounded by the instrument's cardinality limit and an overflow series.
    FreeForm,
}

/// One label of an instrument, as generated docs and dashboards list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelDescriptor {
    /// Attribute key (also the Prometheus label name).
    pub key: &'static str,
    /// Allowed values.
    pub values: LabelValues,
}

impl LabelDescriptor {
    /// A label with this key whose values are given by the label kind `K`.
    pub const fn of<K: LabelKind>(key: &'static str) -> Self {
        LabelDescriptor {
            key,
            values: K::VALUES,
        }
    }

    /// Whether the label accepts any string.
    pub const fn is_free_form(&self) -> bool {
        matches!(self.values, LabelValues::FreeForm)
    }
}

/// The kind of one label: which values it accepts and how they become attribute values.
pub trait LabelKind: 'static {
    /// The value passed at the call site: the enum itself, or `&str` for [`FreeForm`].
    type Value<'a>: Copy;
    /// Number of distinct values, or `None` when unbounded.
    const CARDINALITY: Option<usize>;
    /// Allowed values, for generated docs and dashboards.
    const VALUES: LabelValues;
    /// Position of a closed value in [`LabelValues::Closed`] (0 for free-form values).
    fn ordinal(value: Self::Value<'_>) -> usize;
    /// The OpenTelemetry attribute value.
    fn to_value(value: Self::Value<'_>) -> Value;
    /// The closed value at `ordinal` (`None` for free-form kinds or out of range).
    fn value_at(ordinal: usize) -> Option<Self::Value<'static>>;
}

/// Marker for a free-form label: any `&str` is accepted at the call site.
///
/// Free-form values allocate one `String` per measurement (exactly as a raw
/// `KeyValue::new(key, value.to_string())` does) and are never pre-bound. Declare them only
/// for values that are bounded in practice (a model name, a database name, a stored skill id):
/// the instrument's cardinality limit turns any excess into one `otel.metric.overflow=true`
/// series instead of unbounded memory.
///
/// A value is cut to [`FREE_FORM_VALUE_LIMIT`] bytes (at a character boundary): the cardinality
/// limit bounds the number of series, and this bounds what each one holds, so a value taken
/// from a request cannot make every series megabytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeForm {}

/// The longest free-form label value recorded, in bytes; a longer one is cut at a character
/// boundary (values sharing their first 1 KiB share a series).
pub const FREE_FORM_VALUE_LIMIT: usize = 1024;

pub(crate) fn free_form_value(value: &str) -> &str {
    if value.len() <= FREE_FORM_VALUE_LIMIT {
        return value;
    }
    let mut end = FREE_FORM_VALUE_LIMIT;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

impl LabelKind for FreeForm {
    type Value<'a> = &'a str;
    const CARDINALITY: Option<usize> = None;
    const VALUES: LabelValues = LabelValues::FreeForm;
    #[inline]
    fn ordinal(_: &str) -> usize {
        0
    }
    #[inline]
    fn to_value(value: &str) -> Value {
        Value::String(StringValue::from(free_form_value(value).to_owned()))
    }
    fn value_at(_: usize) -> Option<&'static str> {
        None
    }
}

/// The complete set of labels an instrument is recorded with.
///
/// Implemented for `()`, for every [`LabelKind`] and for tuples of two to four kinds.
pub trait LabelSet: 'static {
    /// The values passed at the call site.
    type Values<'a>: Copy;
    /// Number of labels.
    const LEN: usize;
    /// Number of distinct combinations when every label is closed, `None` otherwise.
    const CARDINALITY: Option<usize>;
    /// Mixed-radix index of a combination, in `0..CARDINALITY` (meaningless if unbounded).
    fn ordinal(values: Self::Values<'_>) -> usize;
    /// Builds the attributes (keys in declaration order) on the stack and passes them to `f`.
    fn with_attributes<R>(
        values: Self::Values<'_>,
        keys: &[LabelDescriptor],
        f: impl FnOnce(&[KeyValue]) -> R,
    ) -> R;
    /// The closed combination at `ordinal` (inverse of [`ordinal`](Self::ordinal)), `None`
    /// when a label is free-form or `ordinal` is out of range.
    fn values_at(ordinal: usize) -> Option<Self::Values<'static>>;
}

const fn mul(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => a.checked_mul(b),
        _ => None,
    }
}

#[inline]
fn key(keys: &[LabelDescriptor], i: usize) -> Key {
    // The instrument-set macro always passes one descriptor per label; "label" is a
    // defensive fallback that keeps a hand-built mismatch from panicking.
    Key::from_static_str(keys.get(i).map_or("label", |d| d.key))
}

impl LabelSet for () {
    type Values<'a> = ();
    const LEN: usize = 0;
    const CARDINALITY: Option<usize> = Some(1);
    #[inline]
    fn ordinal(_: ()) -> usize {
        0
    }
    #[inline]
    fn with_attributes<R>(_: (), _: &[LabelDescriptor], f: impl FnOnce(&[KeyValue]) -> R) -> R {
        f(&[])
    }
    fn values_at(ordinal: usize) -> Option<()> {
        (ordinal == 0).then_some(())
    }
}

impl<A: LabelKind> LabelSet for A {
    type Values<'a> = A::Value<'a>;
    const LEN: usize = 1;
    const CARDINALITY: Option<usize> = A::CARDINALITY;
    #[inline]
    fn ordinal(v: Self::Values<'_>) -> usize {
        A::ordinal(v)
    }
    #[inline]
    fn with_attributes<R>(
        v: Self::Values<'_>,
        keys: &[LabelDescriptor],
        f: impl FnOnce(&[KeyValue]) -> R,
    ) -> R {
        f(&[KeyValue::new(key(keys, 0), A::to_value(v))])
    }
    fn values_at(ordinal: usize) -> Option<Self::Values<'static>> {
        A::value_at(ordinal)
    }
}

macro_rules! tuple_label_set {
    ($len:expr; $($T:ident $v:ident $i:tt),+) => {
        impl<$($T: LabelKind),+> LabelSet for ($($T,)+) {
            type Values<'a> = ($($T::Value<'a>,)+);
            const LEN: usize = $len;
            const CARDINALITY: Option<usize> = {
                let c = Some(1);
                $(let c = mul(c, $T::CARDINALITY);)+
                c
            };
            #[inline]
            fn ordinal(values: Self::Values<'_>) -> usize {
                let ($($v,)+) = values;
                let mut idx = 0usize;
                $(idx = idx * $T::CARDINALITY.unwrap_or(1) + $T::ordinal($v);)+
                idx
            }
            #[inline]
            fn with_attributes<R>(
                values: Self::Values<'_>,
                keys: &[LabelDescriptor],
                f: impl FnOnce(&[KeyValue]) -> R,
            ) -> R {
                let ($($v,)+) = values;
                f(&[$(KeyValue::new(key(keys, $i), $T::to_value($v))),+])
            }
            fn values_at(ordinal: usize) -> Option<Self::Values<'static>> {
                let cards = [$($T::CARDINALITY?),+];
                let mut digits = [0usize; $len];
                let mut rem = ordinal;
                for j in (0..$len).rev() {
                    digits[j] = rem % cards[j];
                    rem /= cards[j];
                }
                if rem != 0 {
                    return None;
                }
                Some(($($T::value_at(digits[$i])?,)+))
            }
        }
    };
}

tuple_label_set!(2; A a 0, B b 1);
tuple_label_set!(3; A a 0, B b 1, C c 2);
tuple_label_set!(4; A a 0, B b 1, C c 2, D d 3);

/// Error returned when parsing a label enum from a string that is not one of its values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {label} (expected one of: {expected})")]
pub struct ParseLabelError {
    /// Name of the enum.
    pub label: &'static str,
    /// The rejected input.
    pub value: String,
    /// The allowed values, comma separated.
    pub expected: String,
}

/// Declares a closed label: a Rust enum whose variants map to fixed attribute values.
///
/// The enum gets `as_str()`, `ALL`, `Display`, `FromStr` (case-insensitive, with a
/// [`ParseLabelError`] naming the allowed values) and a [`LabelKind`] implementation, so it
/// can be used as an instrument label with a pre-bound fast path.
///
/// ```
/// ferrotel_meters::label_enum! {
///     /// Outcome of an operation.
///     pub enum Outcome {
///         /// It worked.
///         Ok = "ok",
///         /// It failed.
///         Failed = "failed",
///     }
/// }
/// assert_eq!(Outcome::Failed.as_str(), "failed");
/// assert_eq!("OK".parse::<Outcome>(), Ok(Outcome::Ok));
/// assert!("maybe".parse::<Outcome>().is_err());
/// ```
#[macro_export]
macro_rules! label_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $Name:ident {
            $( $(#[$vmeta:meta])* $Variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $Name {
            $( $(#[$vmeta])* $Variant ),+
        }

        impl $Name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$Name] = &[$($Name::$Variant),+];
            /// Every attribute value, in declaration order.
            pub const STRS: &'static [&'static str] = &[$($value),+];

            /// The attribute value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($Name::$Variant => $value),+
                }
            }
        }

        impl ::core::fmt::Display for $Name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for $Name {
            type Err = $crate::ParseLabelError;
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                let t = s.trim();
                $( if t.eq_ignore_ascii_case($value) { return Ok($Name::$Variant); } )+
                Err($crate::ParseLabelError {
                    label: stringify!($Name),
                    value: s.to_owned(),
                    expected: Self::STRS.join(", "),
                })
            }
        }

        impl $crate::LabelKind for $Name {
            type Value<'a> = $Name;
            const CARDINALITY: Option<usize> = Some(Self::STRS.len());
            const VALUES: $crate::LabelValues = $crate::LabelValues::Closed(Self::STRS);
            #[inline]
            fn ordinal(value: $Name) -> usize {
                value as usize
            }
            fn value_at(ordinal: usize) -> Option<$Name> {
                Self::ALL.get(ordinal).copied()
            }
            #[inline]
            fn to_value(value: $Name) -> $crate::__private::opentelemetry::Value {
                $crate::__private::opentelemetry::Value::String($crate::__private::opentelemetry::StringValue::from(value.as_str()))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_form_values_are_cut_at_the_limit_on_a_char_boundary() {
        let short = FreeForm::to_value("gpt-4o");
        assert_eq!(short.as_str(), "gpt-4o");
        // 'é' is two bytes: 1023 ASCII bytes then 'é' straddle the limit.
        let long = format!(
            "{}é{}",
            "a".repeat(FREE_FORM_VALUE_LIMIT - 1),
            "b".repeat(10_000)
        );
        let cut = FreeForm::to_value(&long);
        assert_eq!(cut.as_str().len(), FREE_FORM_VALUE_LIMIT - 1);
        assert!(long.starts_with(cut.as_str().as_ref()));
    }

    crate::label_enum! {
        /// Test enum.
        pub enum Color { Red = "red", Green = "green", Blue = "blue" }
    }
    crate::label_enum! {
        /// Test enum.
        pub enum Size { S = "s", L = "l" }
    }

    #[test]
    fn ordinals_are_a_bijection() {
        type L = (Color, Size);
        assert_eq!(L::CARDINALITY, Some(6));
        let mut seen = std::collections::HashSet::new();
        for c in Color::ALL {
            for s in Size::ALL {
                let i = L::ordinal((*c, *s));
                assert!(i < 6);
                assert!(seen.insert(i));
                assert_eq!(L::values_at(i), Some((*c, *s)));
            }
        }
        assert_eq!(L::values_at(6), None);
        assert_eq!(<(Color, FreeForm)>::CARDINALITY, None);
        assert_eq!(<(Color, FreeForm)>::values_at(0), None);
    }

    #[test]
    fn attributes_follow_declaration_order() {
        let keys = [
            LabelDescriptor::of::<Color>("color"),
            LabelDescriptor::of::<FreeForm>("name"),
        ];
        let attrs = <(Color, FreeForm)>::with_attributes((Color::Blue, "x"), &keys, |a| a.to_vec());
        assert_eq!(
            attrs,
            vec![KeyValue::new("color", "blue"), KeyValue::new("name", "x")]
        );
    }

    #[test]
    fn parse_error_names_allowed_values() {
        let err = "purple".parse::<Color>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`purple` is not a valid Color (expected one of: red, green, blue)"
        );
    }
}
