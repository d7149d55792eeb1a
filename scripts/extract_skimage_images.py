"""Copy test photos out of the scikit-image wheel into assets/images/.

    python3 scripts/extract_skimage_images.py

Downloads scikit-image's wheel from PyPI with pip (no install), and extracts three photos from
skimage/data/: astronaut.png (NASA, public domain), chelsea.png and coffee.png (CC0, see
scikit-image's skimage/data/README). Nothing is fetched at test time; the PNGs are committed.
"""

import glob
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "0.26.0"
FILES = ["astronaut.png", "chelsea.png", "coffee.png"]


def main() -> None:
    out = pathlib.Path(__file__).resolve().parent.parent / "assets" / "images"
    out.mkdir(parents=True, exist_ok=True)
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


if __name__ == "__main__":
    main()
