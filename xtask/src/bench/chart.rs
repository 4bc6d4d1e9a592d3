//! Throughput-over-time line charts as hand-written SVG (no plotting dependency).

use std::fmt::Write as _;

/// One line: a label, a colour and `(seconds, MiB/s)` points.
pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) color: &'static str,
    pub(crate) points: Vec<(f64, f64)>,
}

/// Colours for up to four lines, distinguishable in print.
pub(crate) const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 44.0;

/// A chart of `series` with a dashed horizontal line at `limit` MiB/s (the link).
pub(crate) fn line_chart(title: &str, series: &[Series], limit: f64) -> String {
    let t_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max);
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(limit, f64::max)
        * 1.15;
    let x = |t: f64| LEFT + t / t_max * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / y_max * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    // Axes and grid: five steps on each.
    for i in 0..=5 {
        let v = y_max * f64::from(i) / 5.0;
        let t = t_max * f64::from(i) / 5.0;
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#ddd"/><text x="{2}" y="{3:.1}" text-anchor="end">{v:.0}</text>"##,
            y(v),
            W - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{t:.1}</text>"#,
            x(t),
            H - BOTTOM + 16.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">seconds</text><text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">MiB/s</text>"#,
        W / 2.0,
        H - 8.0,
        H / 2.0,
        H / 2.0
    );
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#555" stroke-dasharray="6 4"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#555">link {limit:.0} MiB/s</text>"##,
        y(limit),
        W - RIGHT,
        y(limit) - 4.0
    );
    for (i, line) in series.iter().enumerate() {
        let points: Vec<String> = line
            .points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>"#,
            line.color,
            points.join(" ")
        );
        let ly = TOP + 4.0 + 16.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{ly}" x2="{1}" y2="{ly}" stroke="{2}" stroke-width="3"/><text x="{3}" y="{4}">{5}</text>"#,
            LEFT + 10.0,
            LEFT + 30.0,
            line.color,
            LEFT + 36.0,
            ly + 4.0,
            escape(&line.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Rates from cumulative byte counters sampled at `(seconds, bytes)`, averaged over windows
/// of `window` seconds (a counter read every 100 ms is too jumpy to read).
pub(crate) fn rates(samples: &[(f64, u64)], window: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let Some(&(mut t0, mut b0)) = samples.first() else {
        return out;
    };
    out.push((0.0, 0.0));
    for &(t, b) in samples {
        if t - t0 >= window {
            let mib = b.saturating_sub(b0) as f64 / (1u64 << 20) as f64;
            out.push((t, mib / (t - t0)));
            (t0, b0) = (t, b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_average_each_window() {
        let mib = 1u64 << 20;
        let samples: Vec<(f64, u64)> = (0..=20u32)
            .map(|i| (f64::from(i) * 0.1, u64::from(i) * mib))
            .collect();
        // 1 MiB per 0.1 s is 10 MiB/s in every half-second window.
        let r = rates(&samples, 0.5);
        assert_eq!(r.len(), 5);
        assert_eq!(r[0], (0.0, 0.0));
        for (_, v) in &r[1..] {
            assert!((v - 10.0).abs() < 1e-6, "{r:?}");
        }
        assert!(rates(&[], 0.5).is_empty());
    }

    #[test]
    fn chart_has_a_line_per_series_and_the_link() {
        let series = [
            Series {
                label: "ours <a>".to_owned(),
                color: COLORS[0],
                points: vec![(0.0, 0.0), (1.0, 90.0), (2.0, 95.0)],
            },
            Series {
                label: "b".to_owned(),
                color: COLORS[1],
                points: vec![(0.0, 0.0), (3.0, 50.0)],
            },
        ];
        let svg = line_chart("t", &series, 100.0);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("link 100 MiB/s"));
        assert!(svg.contains("ours &lt;a&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
