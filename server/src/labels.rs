//! A device's label: the setup link carrying the device's name (the element's
//! `device-name`) and its key's fingerprint (`expected-fingerprint`), and that link as a QR
//! code in SVG, so a customer who scans it lands in sealed mode with nothing to type.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use reqwest::Url;

/// The setup link: the maker's setup page with `device-name` and `expected-fingerprint`
/// added to its query.
pub fn setup_link(setup_url: &Url, device_name: &str, fingerprint: &str) -> String {
    let mut url = setup_url.clone();
    url.query_pairs_mut()
        .append_pair("device-name", device_name)
        .append_pair("expected-fingerprint", fingerprint);
    url.to_string()
}

fn escape_xml(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The label as an SVG document: the link's QR code with the device's name under it.
///
/// # Errors
/// The link is too long for a QR code.
pub fn label_svg(link: &str, device_name: &str) -> Result<String, qrcode::types::QrError> {
    // Level M: a label survives some scratches and stays small enough to print at 2 cm.
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)?;
    let qr = code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The renderer writes a whole document; nest its <svg> in the label's.
    let qr = qr.find("<svg").map_or(qr.as_str(), |start| &qr[start..]);
    let size = qr_side(qr).unwrap_or(240);
    let height = size + 36;
    Ok(format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
            "<title>{name}</title>",
            r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##,
            "{qr}",
            r#"<text x="{mid}" y="{baseline}" font-family="monospace" font-size="20" text-anchor="middle">{name}</text>"#,
            "</svg>\n"
        ),
        w = size,
        h = height,
        mid = size / 2,
        baseline = size + 24,
        qr = qr,
        name = escape_xml(device_name),
    ))
}

/// The `width` the renderer gave its square image.
fn qr_side(svg: &str) -> Option<u32> {
    let start = svg.find(" width=\"")? + " width=\"".len();
    let end = start + svg[start..].find('"')?;
    svg[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_name_and_fingerprint() {
        let page = Url::parse("https://lumen.example/setup?lang=de").unwrap();
        let link = setup_link(&page, "Photon-7KQ2", &"ab".repeat(32));
        assert_eq!(
            link,
            format!(
                "https://lumen.example/setup?lang=de&device-name=Photon-7KQ2&expected-fingerprint={}",
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn the_label_is_an_svg_with_the_qr_code_and_the_name() {
        let svg = label_svg(
            "https://lumen.example/setup?device-name=Photon-7KQ2",
            "Photon-7KQ2",
        )
        .unwrap();
        assert!(svg.starts_with("<?xml"));
        assert_eq!(svg.matches("<?xml").count(), 1, "one prolog");
        assert!(
            svg.contains(r##"<path fill="#000000" d="M"##),
            "the QR modules"
        );
        assert!(svg.contains(">Photon-7KQ2</text>"));
        assert!(label_svg("x", "<&>").unwrap().contains("&lt;&amp;&gt;"));
        assert!(label_svg(&"x".repeat(5000), "too long").is_err());
    }
}
