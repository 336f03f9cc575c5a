#!/usr/bin/env python3
"""Render a GLB in headless Chromium with Debian's three.js (r111) at a given camera and background: the reference
picture for the preview test (render.py is the general render and compare tool).

Usage: render_preview.py FILE.glb OUT.png [--size=WxH] [--camera=PX,PY,PZ,TX,TY,TZ,FOV,NEAR,FAR] [--background=R,G,B]
(default 640x480; the camera defaults to the framing below, the background to 40,44,52)

--camera puts a perspective camera at P looking at T (+Y up, vertical field of view FOV degrees): the preview
renderer's camera from `optimize --report`, for comparing its picture with this one.

Serves a small page, three.js, GLTFLoader and the GLB over http on 127.0.0.1 (random free port). The page loads
the GLB, rejects extensionsRequired that r111 silently ignores (it would draw garbage), frames the camera on its bounding box, lights it and renders one frame, then POSTs its verdict
("ok ..." or "error ...") to /result. Chromium takes the screenshot after a virtual-time budget.
Exit 0 when the loader succeeded and at least 1 % of the screenshot's pixels differ from the background;
exit 1 otherwise (one line on stderr saying why); exit 2 on usage errors.
"""
import http.server
import os
import subprocess
import sys
import tempfile
import threading

THREE = "/usr/share/javascript/three"
DEFAULT_BACKGROUND = (40, 44, 52)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>render</title>
<style>html,body{margin:0;padding:0;overflow:hidden;background:rgb(BG)}</style>
<script src="/three/three.min.js"></script>
<script src="/three/examples/js/loaders/GLTFLoader.js"></script>
</head><body><script>
function report(text) {
  document.title = text;
  var xhr = new XMLHttpRequest();
  xhr.open('POST', '/result', false);
  xhr.send(text);
}
window.onerror = function (message) { report('error script: ' + message); };
try {
  var query = new URLSearchParams(location.search);  // innerHeight is smaller than the screenshot in headless mode
  var width = Number(query.get('w')), height = Number(query.get('h'));
  var renderer = new THREE.WebGLRenderer({antialias: false, preserveDrawingBuffer: true});
  renderer.setSize(width, height);
  renderer.setClearColor(new THREE.Color('rgb(BG)'), 1);
  renderer.outputEncoding = THREE.sRGBEncoding;  // r112 and later
  renderer.gammaOutput = true;  // r111 ignores outputEncoding: gamma 2.2 approximates the sRGB curve
  renderer.gammaFactor = 2.2;
  document.body.appendChild(renderer.domElement);
  var scene = new THREE.Scene();
  scene.add(new THREE.HemisphereLight(0xffffff, 0x444444, 1.0));
  var sun = new THREE.DirectionalLight(0xffffff, 1.5);
  sun.position.set(1, 2, 3);
  scene.add(sun);
  new THREE.GLTFLoader().load('/model.glb', function (gltf) {
    var supported = ['KHR_materials_pbrSpecularGlossiness', 'KHR_materials_unlit', 'KHR_texture_transform',
                     'KHR_mesh_quantization', 'KHR_lights_punctual'];
    var missing = (gltf.parser.json.extensionsRequired || []).filter(function (e) { return supported.indexOf(e) < 0; });
    if (missing.length) { report('error three.js r111 cannot decode required ' + missing.join(',')); return; }
    scene.add(gltf.scene);
    var box = new THREE.Box3().setFromObject(gltf.scene);
    if (box.isEmpty()) { report('error empty bounds'); return; }
    var center = box.getCenter(new THREE.Vector3());
    var radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 1e-6);
    var given = query.get('camera') ? query.get('camera').split(',').map(Number) : null;
    var camera;
    if (given) {
      camera = new THREE.PerspectiveCamera(given[6], width / height, given[7], given[8]);
      camera.position.set(given[0], given[1], given[2]);
      camera.lookAt(new THREE.Vector3(given[3], given[4], given[5]));
    } else {
      camera = new THREE.PerspectiveCamera(45, width / height, radius / 100, radius * 100);
      var distance = radius / Math.sin(camera.fov * Math.PI / 360) * 1.1;
      camera.position.copy(center).add(new THREE.Vector3(1, 0.8, 1.2).normalize().multiplyScalar(distance));
      camera.lookAt(center);
    }
    sun.position.copy(camera.position);
    renderer.render(scene, camera);
    report('ok meshes=' + gltf.scene.children.length + ' viewport=' + width + 'x' + height);
  }, undefined, function (error) {
    report('error loader: ' + (error && error.message ? error.message : error && error.target && error.target.src ? 'cannot load ' + error.target.src : String(error)));
  });
} catch (e) {
  report('error exception: ' + e.message);
}
</script></body></html>
"""


def serve(glb_path, background):
    """Start the http server in a thread; returns (server, results list)."""
    results = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/" or self.path.startswith("/index.html"):
                self.send(PAGE.replace("BG", "%d,%d,%d" % background).encode(), "text/html")
            elif self.path == "/model.glb":
                with open(glb_path, "rb") as f:
                    self.send(f.read(), "model/gltf-binary")
            elif self.path.startswith("/three/") and ".." not in self.path:
                file = os.path.join(THREE, self.path[len("/three/"):])
                if os.path.isfile(file):
                    with open(file, "rb") as f:
                        self.send(f.read(), "application/javascript")
                else:
                    self.send_error(404)
            else:
                self.send_error(404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            results.append(self.rfile.read(length).decode("utf-8", "replace"))
            self.send(b"", "text/plain")

        def send(self, body, kind):
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, results


def non_background_fraction(png_path, background):
    from PIL import Image
    image = Image.open(png_path).convert("RGB")
    pixels = list(image.getdata())
    differ = sum(1 for p in pixels if max(abs(p[i] - background[i]) for i in range(3)) > 8)
    return differ / max(len(pixels), 1)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    size = flags.get("size", "640x480")
    try:
        camera = [float(v) for v in flags["camera"].split(",")] if "camera" in flags else None
        background = (tuple(int(v) for v in flags["background"].split(",")) if "background" in flags
                      else DEFAULT_BACKGROUND)
    except ValueError:
        camera, background = [], ()
    if (len(args) != 2 or not os.path.isfile(args[0]) or (camera is not None and len(camera) != 9)
            or len(background) != 3 or set(flags) - {"size", "camera", "background"}):
        print("usage: render.py FILE.glb OUT.png [--size=WxH] [--camera=PX,PY,PZ,TX,TY,TZ,FOV,NEAR,FAR] "
              "[--background=R,G,B]", file=sys.stderr)
        return 2
    glb, png = args[0], os.path.abspath(args[1])
    width, height = size.split("x")
    server, results = serve(glb, background)
    try:
        with tempfile.TemporaryDirectory(prefix="render-profile-") as profile:
            if os.path.exists(png):
                os.remove(png)
            command = [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu-sandbox", "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", "--no-first-run",
                "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw",
                f"--screenshot={png}", f"http://127.0.0.1:{server.server_address[1]}/index.html?w={width}&h={height}"
                + ("&camera=" + ",".join(repr(v) for v in camera) if camera else ""),
            ]
            proc = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        print(f"{glb}: chromium did not finish within 120 s", file=sys.stderr)
        return 1
    finally:
        server.shutdown()
    if not results:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        print(f"{glb}: the page reported nothing (chromium: {tail[0]})", file=sys.stderr)
        return 1
    if not results[0].startswith("ok"):
        print(f"{glb}: {results[0]}", file=sys.stderr)
        return 1
    if not os.path.isfile(png):
        print(f"{glb}: chromium wrote no screenshot (exit {proc.returncode})", file=sys.stderr)
        return 1
    fraction = non_background_fraction(png, background)
    if fraction < 0.01:
        print(f"{glb}: screenshot is blank ({fraction * 100:.2f} % of pixels differ from the background)",
              file=sys.stderr)
        return 1
    print(f"{results[0]} covered={fraction * 100:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
