//! The picture of contexts -> events -> handlers, as inline SVG.
//!
//! Three columns joined by curves. Events are listed by context; each handler is
//! placed as close as it can be to the middle of the events it handles
//! (barycentre ordering), which keeps the curves short and the crossings few.

use super::esc;
use crate::model::{Catalog, EventDef};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Width of one character of the 12px monospace labels (0.6 em, plus slack).
const CHAR_W: f64 = 7.4;
const ROW: f64 = 26.0;
const NODE_H: f64 = 20.0;
const GROUP_GAP: f64 = 14.0;

/// Draws `events` (grouped by context, in the given order) with their handlers.
/// `root` prefixes links to event pages; `compact` drops the column headings.
pub fn diagram(
    catalog: &Catalog,
    events: &[&EventDef],
    colors: &BTreeMap<&str, &'static str>,
    root: &str,
    compact: bool,
) -> String {
    let _ = catalog;
    let top = if compact { 6.0 } else { 40.0 };
    // Events and contexts.
    let mut ev_y: Vec<f64> = Vec::with_capacity(events.len());
    let mut groups: Vec<(&str, usize, usize)> = Vec::new(); // (context, first, last)
    let mut y = top;
    for (i, e) in events.iter().enumerate() {
        match groups.last_mut() {
            Some((c, _, last)) if *c == e.context => *last = i,
            _ => {
                if !groups.is_empty() {
                    y += GROUP_GAP;
                }
                groups.push((&e.context, i, i));
            }
        }
        ev_y.push(y);
        y += ROW;
    }
    let events_bottom = y;
    // Handlers, by barycentre of the events they handle.
    let mut handler_events: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        for h in &e.handlers {
            handler_events.entry(h).or_default().push(i);
        }
    }
    let mut handlers: Vec<(&str, f64)> = handler_events
        .iter()
        .map(|(h, evs)| {
            let bary = evs.iter().map(|&i| ev_y[i]).sum::<f64>() / evs.len() as f64;
            (*h, bary)
        })
        .collect();
    handlers.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
    // Handlers usually outnumber events: pack their rows tighter (down to 17px) so
    // the column stays about as tall as the events' and the curves stay level.
    let span = events_bottom - top;
    let h_row = if handlers.is_empty() || compact {
        ROW
    } else {
        (span / handlers.len() as f64).clamp(17.0, ROW)
    };
    let h_node = (h_row - 3.0).min(NODE_H);
    let mut h_y: BTreeMap<&str, f64> = BTreeMap::new();
    // Place each at its barycentre, pushed down to keep one row apart, then
    // shift the whole column up if it ran past the events (but not above `top`).
    let mut placed: Vec<f64> = Vec::with_capacity(handlers.len());
    let mut prev = f64::NEG_INFINITY;
    for (_, bary) in &handlers {
        let y = (bary + (NODE_H - h_node) / 2.0).max(prev + h_row).max(top);
        placed.push(y);
        prev = y;
    }
    if let Some(&last) = placed.last() {
        let overflow = (last + h_row - events_bottom).max(0.0);
        let room = placed.first().map_or(0.0, |f| f - top);
        let shift = overflow.min(room);
        if shift > 0.0 {
            // Only shift as far as keeps rows apart: compress from the top.
            let mut limit = top;
            for p in placed.iter_mut() {
                *p = (*p - shift).max(limit);
                limit = *p + h_row;
            }
        }
    }
    for ((h, _), y) in handlers.iter().zip(&placed) {
        h_y.insert(h, *y);
    }
    let bottom = placed
        .last()
        .map_or(events_bottom, |l| (l + h_row).max(events_bottom));

    // Columns.
    let max_len = |it: &mut dyn Iterator<Item = usize>| it.max().unwrap_or(4) as f64;
    let cw = max_len(&mut groups.iter().map(|g| g.0.len())) * CHAR_W + 30.0;
    let ew = max_len(&mut events.iter().map(|e| e.name.len())) * CHAR_W + 22.0;
    let hw = max_len(&mut handlers.iter().map(|h| h.0.len()))
        * if h_row < 22.0 { CHAR_W * 0.93 } else { CHAR_W }
        + 22.0;
    let gap1 = if compact { 56.0 } else { 80.0 };
    let gap2 = if compact { 70.0 } else { 130.0 };
    let x0 = 2.0;
    let x1 = x0 + cw + gap1;
    let x2 = x1 + ew + gap2;
    let width = if handlers.is_empty() {
        x1 + ew + 2.0
    } else {
        x2 + hw + 2.0
    };
    let height = bottom - ROW + NODE_H + 6.0;

    let mut s = String::with_capacity(events.len() * 600 + 1024);
    let _ = writeln!(
        s,
        "<svg class=\"flow\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" aria-label=\"Contexts, events and their declared handlers\">",
        w = width,
        h = height
    );
    if !compact {
        let _ = writeln!(
            s,
            "<g class=\"heads\"><text x=\"{x0}\" y=\"18\">CONTEXTS</text><text x=\"{x1}\" y=\"18\">EVENTS</text>{}</g>",
            if handlers.is_empty() {
                String::new()
            } else {
                format!("<text x=\"{x2}\" y=\"18\">HANDLERS</text>")
            }
        );
    }
    let mid = NODE_H / 2.0;
    let h_mid = h_node / 2.0;
    let small = h_node < NODE_H - 1.0;
    s.push_str("<g class=\"nodes\">\n");
    for (c, first, last) in &groups {
        let color = colors.get(c).copied().unwrap_or("#64748b");
        let cy = (ev_y[*first] + ev_y[*last]) / 2.0;
        let n = last - first + 1;
        let _ = writeln!(
            s,
            "<g class=\"ctx-node\"><title>{c}: {n} event{pl}</title><rect x=\"{x0}\" y=\"{cy:.1}\" width=\"{cw:.0}\" height=\"{NODE_H}\" rx=\"10\" fill=\"{color}\"/><text x=\"{tx:.1}\" y=\"{ty:.1}\">{c}</text></g>",
            c = esc(c),
            pl = if n == 1 { "" } else { "s" },
            tx = x0 + 12.0,
            ty = cy + 14.0,
        );
    }
    // Each event with its curves in one link, so hovering an event lights its
    // curves up (see style.css).
    for (c, first, last) in &groups {
        let color = colors.get(c).copied().unwrap_or("#64748b");
        let cy = (ev_y[*first] + ev_y[*last]) / 2.0 + mid;
        for i in *first..=*last {
            let e = events[i];
            let y = ev_y[i];
            let _ = write!(
                s,
                "<a href=\"{root}events/{name}.html\" class=\"ev-node\"><title>{name}: {desc}</title>",
                name = esc(&e.name),
                desc = esc(e.description.lines().next().unwrap_or("")),
            );
            curve(&mut s, x0 + cw, cy, x1, y + mid, color, "ce");
            for h in &e.handlers {
                if let Some(hy) = h_y.get(h.as_str()) {
                    curve(&mut s, x1 + ew, y + mid, x2, hy + h_mid, color, "eh");
                }
            }
            let _ = writeln!(
                s,
                "<rect class=\"box\" x=\"{x1}\" y=\"{y:.1}\" width=\"{ew:.0}\" height=\"{NODE_H}\" rx=\"5\" stroke=\"{color}\"/><rect x=\"{x1}\" y=\"{y:.1}\" width=\"4\" height=\"{NODE_H}\" rx=\"2\" fill=\"{color}\"/><text x=\"{tx:.1}\" y=\"{ty:.1}\">{name}</text></a>",
                name = esc(&e.name),
                tx = x1 + 11.0,
                ty = y + 14.0,
            );
        }
    }
    for (h, _) in &handlers {
        let y = h_y[h];
        let evs: Vec<&str> = handler_events[h]
            .iter()
            .map(|&i| events[i].name.as_str())
            .collect();
        let _ = writeln!(
            s,
            "<g class=\"h-node{sm}\"><title>{name} handles {list}</title><rect x=\"{x2:.1}\" y=\"{y:.1}\" width=\"{hw:.0}\" height=\"{h_node}\" rx=\"4\"/><text x=\"{tx:.1}\" y=\"{ty:.1}\">{name}</text></g>",
            sm = if small { " small" } else { "" },
            name = esc(h),
            list = esc(&evs.join(", ")),
            tx = x2 + 10.0,
            ty = y + h_node / 2.0 + if small { 4.0 } else { 4.5 },
        );
    }
    s.push_str("</g>\n</svg>");
    s
}

fn curve(s: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, color: &str, class: &str) {
    let dx = (x2 - x1) * 0.5;
    let _ = writeln!(
        s,
        "<path class=\"{class}\" d=\"M{x1:.1} {y1:.1}C{:.1} {y1:.1} {:.1} {y2:.1} {x2:.1} {y2:.1}\" stroke=\"{color}\"/>",
        x1 + dx,
        x2 - dx
    );
}
