//! Atoms used in results and error reasons.

rustler::atoms! {
    ok,
    error,
    void,
    trap,
    func,
    nan,
    infinity,
    neg_infinity,
    undefined,
    invalid_module,
    unknown_import,
    import_type_mismatch,
    link_error,
    instantiation_failed,
    instance_invalidated,
    undefined_function,
    unsupported_signature,
    not_a_term_function,
    bad_result_handle,
    badarity,
}
