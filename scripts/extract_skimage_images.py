"""Copy test photos out of the scikit-image wheel into assets/images/ (and a text page into assets/ocr/).

    python3 scripts/extract_skimage_images.py

Downloads scikit-image's wheel from PyPI with pip (no install), and extracts three photos from
skimage/data/: astronaut.png (NASA, public domain), chelsea.png and coffee.png (CC0, see
scikit-image's skimage/data/README), into assets/images/. It also copies skimage/data/page.png
(a scanned page of printed text, 8-bit greyscale; skimage.data.page() names no separate source, so
it comes under scikit-image's BSD-3-Clause licence) to assets/ocr/page.png for the OCR tests; it is
kept out of assets/images/ so that the tests iterating over the photos do not see it. Nothing is fetched at test time; the PNGs are committed.
"""

import glob
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "0.26.0"
FILES = ["astronaut.png", "chelsea.png", "coffee.png"]
OCR_FILES = ["page.png"]


def main() -> None:
    assets = pathlib.Path(__file__).resolve().parent.parent / "assets"
    out, ocr = assets / "images", assets / "ocr"
    out.mkdir(parents=True, exist_ok=True)
    ocr.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             f"scikit-image=={VERSION}", "-d", tmp],
            check=True,
        )
        wheel = glob.glob(f"{tmp}/scikit_image-*.whl")[0]
        with zipfile.ZipFile(wheel) as z:
            for name in FILES:
                (out / name).write_bytes(z.read(f"skimage/data/{name}"))
                print("wrote", out / name)
            for name in OCR_FILES:
                (ocr / name).write_bytes(z.read(f"skimage/data/{name}"))
                print("wrote", ocr / name)


if __name__ == "__main__":
    main()
