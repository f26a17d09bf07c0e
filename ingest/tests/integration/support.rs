//! Small builders for test files.

use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Assembles a PDF from object bodies (object `n` is `objects[n - 1]`) with a correct
/// cross-reference table; `trailer_extra` is added to the trailer dictionary.
pub fn assemble_pdf(objects: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n", index + 1).as_bytes());
        pdf.extend(body);
        pdf.extend(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

fn stream(dictionary: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {dictionary} /Length {} >>\nstream\n", data.len()).into_bytes();
    body.extend(data);
    body.extend(b"\nendstream");
    body
}

/// A one-page PDF with `lines` in Helvetica, 20 pt.
pub fn text_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = String::from("BT /F1 20 Tf 72 720 Td 26 TL\n");
    for line in lines {
        content.push_str(&format!("({line}) Tj T*\n"));
    }
    content.push_str("ET");
    assemble_pdf(
        &[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
                .to_vec(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
            stream("", content.as_bytes()),
        ],
        "",
    )
}

/// A one-page PDF that is only a colour JPEG of `width` x `height` pixels: a scan.
pub fn image_pdf(jpeg: &[u8], width: u32, height: u32) -> Vec<u8> {
    let content = b"q 612 0 0 792 0 0 cm /Im1 Do Q";
    assemble_pdf(
        &[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>"
                .to_vec(),
            stream(
                &format!(
                    "/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceRGB \
                     /BitsPerComponent 8 /Filter /DCTDecode"
                ),
                jpeg,
            ),
            stream("", content),
        ],
        "",
    )
}

/// Renders page 1 of `pdf` with poppler to an image of 1275 x 1650 pixels (150 dpi).
pub fn render(pdf: &[u8], format: &str) -> Vec<u8> {
    let directory = tempfile::tempdir().unwrap();
    let input = directory.path().join("in.pdf");
    std::fs::write(&input, pdf).unwrap();
    let output: PathBuf = directory.path().join("page");
    let status = std::process::Command::new("pdftoppm")
        .args([
            "-singlefile",
            "-scale-to-x",
            "1275",
            "-scale-to-y",
            "1650",
            &format!("-{format}"),
        ])
        .arg(&input)
        .arg(&output)
        .status()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(status.success());
    let extension = if format == "jpeg" { "jpg" } else { format };
    std::fs::read(output.with_extension(extension)).unwrap()
}
