//! A tiny traced program: run with ACTRACE_FILE=/tmp/smoke.json.
fn main() {
    let mut root = actrace::root_task("main");
    {
        let mut s = root.span("setup");
        let _inner = s.span("read config");
    }
    let ctx = root.context();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let mut t = ctx.task("worker");
                let _s = t.span(format!("job {i}"));
                let _a = actrace::span("inner");
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    println!("{}", root.stack_or("-", actrace::StackKind::Combined));
}
