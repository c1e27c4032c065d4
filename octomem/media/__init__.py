"""Images, PDFs and documents in message content parts: read offline into text.

`parts` knows the part shapes, `sources` and `fetch` get the bytes, `images`, `pdf` and
`documents` read them. The heavy libraries (Pillow, pypdf, RapidOCR) are imported only
when a part needs them: `pip install 'octomem[media]'`.
"""
