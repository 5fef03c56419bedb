//! Span-stack strings for log lines (R13).

use alloc::string::String;

use crate::{Name, NodeId};

/// How each node of a span-stack string is shown (R13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StackKind {
    /// By id: `AbCd$XyZw$XyZw.Qr3s`.
    Ids,
    /// By name: `a$b$b.c.d`.
    Names,
    /// Both: `(AbCd "a")$…`.
    Combined,
}

/// Writes the stack string of a node: the tasks from the root to the current
/// task joined by `$`, then `$`, then the current task and its open spans down
/// to the node joined by `.`.
pub fn write_stack<'a>(
    out: &mut String,
    tasks: impl IntoIterator<Item = (NodeId, &'a Name)>,
    spans: impl IntoIterator<Item = (NodeId, &'a Name)>,
    kind: StackKind,
) {
    let mut last = None;
    for (i, (id, name)) in tasks.into_iter().enumerate() {
        if i > 0 {
            out.push('$');
        }
        write_node(out, id, name, kind);
        last = Some((id, name));
    }
    let Some((id, name)) = last else { return };
    out.push('$');
    write_node(out, id, name, kind);
    for (id, name) in spans {
        out.push('.');
        write_node(out, id, name, kind);
    }
}

fn write_node(out: &mut String, id: NodeId, name: &Name, kind: StackKind) {
    match kind {
        StackKind::Ids => id.write_base64(out),
        StackKind::Names => out.push_str(name),
        StackKind::Combined => {
            out.push('(');
            id.write_base64(out);
            out.push_str(" \"");
            out.push_str(name);
            out.push_str("\")");
        }
    }
}
