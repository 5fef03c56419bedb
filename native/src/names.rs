//! Names derived from the caller (the seed's `WithTaskFromStack`).

/// The path of the function that expands this macro, e.g.
/// `my_crate::copy::copy_file`, as a `&'static str`.
#[macro_export]
macro_rules! function_name {
    () => {{
        fn __actrace_here() {}
        $crate::__strip_function_name(::core::any::type_name_of_val(&__actrace_here))
    }};
}

/// Starts an ambient span named after the calling function.
#[macro_export]
macro_rules! span_here {
    () => {
        $crate::span($crate::function_name!())
    };
}

/// Starts a child task of the current context named after the calling
/// function (its last path segment, since task names must be short labels).
#[macro_export]
macro_rules! task_here {
    () => {{
        let path: &'static str = $crate::function_name!();
        $crate::task(path.rsplit("::").next().unwrap_or(path))
    }};
}

#[doc(hidden)]
pub fn __strip_function_name(path: &'static str) -> &'static str {
    let mut path = path.strip_suffix("::__actrace_here").unwrap_or(path);
    // Inside closures and async blocks the path gains `::{{closure}}` parts.
    while let Some(p) = path.strip_suffix("::{{closure}}") {
        path = p;
    }
    path
}
