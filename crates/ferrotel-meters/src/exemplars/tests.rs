use super::*;
use opentelemetry::trace::{TraceFlags, TraceState};

fn span(sampled: bool) -> SpanContext {
    SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        SpanId::from(0x00f0_67aa_0ba9_02b7),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        false,
        TraceState::default(),
    )
}

#[test]
fn trace_based_admits_sampled_spans_only() {
    let f = ExemplarFilter::TraceBased;
    let offer = Offer::admit(f, &span(true)).expect("sampled span admitted");
    assert_eq!(
        offer.trace,
        Some((span(true).trace_id(), span(true).span_id()))
    );
    assert_eq!(Offer::admit(f, &span(false)), None);
    assert_eq!(Offer::admit(f, &SpanContext::empty_context()), None);
}

#[test]
fn always_on_admits_everything_and_always_off_nothing() {
    let on = ExemplarFilter::AlwaysOn;
    assert!(Offer::admit(on, &span(false)).unwrap().trace.is_some());
    assert_eq!(
        Offer::admit(on, &SpanContext::empty_context()),
        Some(Offer { trace: None })
    );
    let off = ExemplarFilter::AlwaysOff;
    assert_eq!(Offer::admit(off, &span(true)), None);
}

#[test]
fn filter_names_parse_as_the_environment_variable_spells_them() {
    for f in [
        ExemplarFilter::TraceBased,
        ExemplarFilter::AlwaysOn,
        ExemplarFilter::AlwaysOff,
    ] {
        assert_eq!(f.as_str().parse::<ExemplarFilter>(), Ok(f));
        assert_eq!(
            f.to_string().to_uppercase().parse::<ExemplarFilter>(),
            Ok(f)
        );
    }
    assert!("sometimes".parse::<ExemplarFilter>().is_err());
}

#[test]
fn the_current_context_is_what_trace_based_reads() {
    // The process default is trace_based; no test in this crate changes it.
    assert_eq!(exemplar_filter(), ExemplarFilter::TraceBased);
    assert_eq!(Offer::current(), None, "no span is current");
    let cx = Context::new().with_remote_span_context(span(true));
    let _guard = cx.attach();
    let offer = Offer::current().expect("a sampled span is current");
    assert_eq!(
        offer.trace,
        Some((span(true).trace_id(), span(true).span_id()))
    );
}

#[test]
fn the_reservoir_keeps_the_last_value_of_each_bucket() {
    let r = ExemplarReservoir::new(vec![1.0, 5.0].into());
    let offer = Offer::admit(ExemplarFilter::AlwaysOn, &span(true)).unwrap();
    r.offer(0.5, offer);
    r.offer(0.7, offer);
    r.offer(1.0, offer); // upper bound inclusive: still the first bucket
    r.offer(3.0, offer);
    r.offer(100.0, offer);
    r.offer(f64::NAN, offer);
    let values: Vec<f64> = r.exemplars().iter().map(|e| e.value).collect();
    assert_eq!(values, [1.0, 3.0, 100.0]);
}

#[test]
fn series_are_found_whatever_the_attribute_order() {
    let i = InstrumentExemplars::register("test.exemplars.order", &[1.0]).unwrap();
    let offer = Offer::admit(ExemplarFilter::AlwaysOn, &span(true)).unwrap();
    let a = [KeyValue::new("a", "x"), KeyValue::new("b", 2)];
    i.offer(0.5, offer, &a);
    let reversed = [KeyValue::new("b", 2), KeyValue::new("a", "x")];
    assert_eq!(exemplars_for("test.exemplars.order", &reversed).len(), 1);
    // Typed: the string "2" is another series.
    let stringly = [KeyValue::new("a", "x"), KeyValue::new("b", "2")];
    assert!(exemplars_for("test.exemplars.order", &stringly).is_empty());
    assert!(exemplars_for("test.exemplars.other", &a).is_empty());
    // A repeated key counts with its last value, as the SDK deduplicates.
    let repeated = [
        KeyValue::new("b", 7),
        KeyValue::new("a", "x"),
        KeyValue::new("b", 2),
    ];
    assert_eq!(exemplars_for("test.exemplars.order", &repeated).len(), 1);
    assert!(exemplars_for("test.exemplars.order", &[KeyValue::new("a", "x")]).is_empty());
    // Registering again returns the same reservoirs.
    let again = InstrumentExemplars::register("test.exemplars.order", &[1.0]).unwrap();
    assert!(Arc::ptr_eq(&i, &again));
}

#[test]
fn series_beyond_the_bound_get_no_reservoir() {
    let i = InstrumentExemplars::register("test.exemplars.bound", &[1.0]).unwrap();
    for n in 0..MAX_EXEMPLAR_SERIES {
        assert!(i.reservoir(&[KeyValue::new("n", n as i64)]).is_some());
    }
    let before = exemplar_overflows();
    assert!(i.reservoir(&[KeyValue::new("n", -1)]).is_none());
    assert!(exemplar_overflows() > before);
    // Existing series still have theirs.
    assert!(i.reservoir(&[KeyValue::new("n", 0)]).is_some());
}
