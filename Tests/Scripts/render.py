#!/usr/bin/env python3
"""Render a GLB in headless Chromium with Debian's three.js (r111) and check the result.

Usage: render.py FILE.glb OUT.png [--size=WxH] [--camera=PX,PY,PZ,TX,TY,TZ,FOV,NEAR,FAR] [--background=R,G,B]
       render.py --compare [--depth | --albedo] [--size=WxH] REFERENCE OUT_DIR CANDIDATE...

The size defaults to 640x480 and the background to 40,44,52. The camera is framed on the model's bounding box unless
--camera puts a perspective camera at P looking at T (+Y up, vertical field of view FOV degrees): the preview
renderer's camera from `optimize --report`, for comparing its picture with this one. Output is gamma-encoded (2.2).

Compare mode renders REFERENCE (GLB, glTF or OBJ, read from its own folder so .bin, .mtl and images resolve) and
each CANDIDATE with the same camera (framed on the reference's bounding box) and prints one JSON line per candidate:
its covered fraction, the fraction of pixels whose color differs by more than 24 of 255 in some channel, and the
structural similarity (SSIM, 7×7 windows over luminance) to the reference picture; a reference whose lighting or
colors are undefined (zero-length normals, NaN vertex colors) is not compared: each candidate's line says so. `--depth` shades every mesh by
depth instead of its material (for inputs whose materials three.js maps differently, such as OBJ); `--albedo` draws
every mesh unlit in its base color, texture and vertex colors (an OBJ's, read with its MTL, linearized from sRGB as
glTF's are), so colors lost or shifted show without the lighting models' differences. PNGs go to OUT_DIR.

Serves a small page, three.js, GLTFLoader and the GLB over http on 127.0.0.1 (random free port). The page loads
the GLB, rejects extensionsRequired that r111 silently ignores (it would draw garbage), frames the camera on its bounding box, lights it and renders one frame, then POSTs its verdict
("ok ..." or "error ...") to /result. Chromium takes the screenshot after a virtual-time budget.
Exit 0 when the loader succeeded and at least 1 % of the screenshot's pixels differ from the background;
exit 1 otherwise (one line on stderr saying why); exit 2 on usage errors.
"""
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse

THREE = "/usr/share/javascript/three"
BACKGROUND = (40, 44, 52)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>render</title>
<style>html,body{margin:0;padding:0;overflow:hidden;background:rgb(BG)}</style>
<script src="/three/three.min.js"></script>
<script src="/three/examples/js/loaders/GLTFLoader.js"></script>
<script src="/three/examples/js/loaders/OBJLoader.js"></script>
<script src="/three/examples/js/loaders/MTLLoader.js"></script>
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
  var model = query.get('model') || '/model.glb';
  var done = function (gltf) {
    var supported = ['KHR_materials_pbrSpecularGlossiness', 'KHR_materials_unlit', 'KHR_texture_transform',
                     'KHR_mesh_quantization', 'KHR_lights_punctual'];
    var missing = gltf.parser ? (gltf.parser.json.extensionsRequired || []).filter(function (e) { return supported.indexOf(e) < 0; }) : [];
    if (missing.length) { report('error three.js r111 cannot decode required ' + missing.join(',')); return; }
    scene.add(gltf.scene);
    scene.updateMatrixWorld(true);
    var box = new THREE.Box3().setFromObject(gltf.scene);
    if (box.isEmpty()) { report('error empty bounds'); return; }
    if (query.get('box')) {  // frame on another file's box, so two renders are comparable pixel by pixel
      var b = query.get('box').split(',').map(Number);
      box = new THREE.Box3(new THREE.Vector3(b[0], b[1], b[2]), new THREE.Vector3(b[3], b[4], b[5]));
    }
    var center = box.getCenter(new THREE.Vector3());
    var radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 1e-6);
    var camera = new THREE.PerspectiveCamera(45, width / height, radius / 100, radius * 100);
    var distance = radius / Math.sin(camera.fov * Math.PI / 360) * 1.1;
    camera.position.copy(center).add(new THREE.Vector3(1, 0.8, 1.2).normalize().multiplyScalar(distance));
    camera.lookAt(center);
    if (query.get('camera')) {  // a given camera: position, target, vertical fov in degrees, near, far
      var c = query.get('camera').split(',').map(Number);
      camera = new THREE.PerspectiveCamera(c[6], width / height, c[7], c[8]);
      camera.position.set(c[0], c[1], c[2]);
      camera.lookAt(new THREE.Vector3(c[3], c[4], c[5]));
    }
    sun.position.copy(camera.position);
    if (query.get('nolights')) {  // only the page's own lights: the file's lights are left out
      var fileLights = [];
      gltf.scene.traverse(function (o) { if (o.isLight) fileLights.push(o); });
      fileLights.forEach(function (o) { o.parent.remove(o); });
    }
    if (query.get('depth')) {  // geometry only: shade by depth, independent of materials and normals
      camera.near = Math.max(distance - radius * 1.05, radius / 100);
      camera.far = distance + radius * 1.05;
      camera.updateProjectionMatrix();
      var depth = new THREE.MeshDepthMaterial({side: THREE.DoubleSide});
      gltf.scene.traverse(function (o) {
        if (o.isMesh) {
          depth.skinning = depth.skinning || !!o.isSkinnedMesh;
          depth.morphTargets = depth.morphTargets || !!o.morphTargetInfluences;
          o.material = depth;
        }
      });
    }
    if (query.get('albedo')) unlit(gltf.scene, /\.obj$/i.test(model));
    var zeroNormals = false;  // lit, a zero-length normal shades as NaN: the GPU's picture of it means nothing
    if (!query.get('depth') && !query.get('albedo')) {
      gltf.scene.traverse(function (o) {
        var n = o.isMesh && o.geometry.attributes && o.geometry.attributes.normal;
        for (var i = 0; n && i < n.count && !zeroNormals; i++) {
          zeroNormals = !(n.getX(i) * n.getX(i) + n.getY(i) * n.getY(i) + n.getZ(i) * n.getZ(i) > 0);
        }
      });
    }
    renderer.render(scene, camera);
    report('ok meshes=' + gltf.scene.children.length + ' viewport=' + width + 'x' + height +
           ' box=' + box.min.toArray().concat(box.max.toArray()).join(',') + (undefinedColors ? ' nan-colors' : '') +
           (zeroNormals ? ' zero-normals' : ''));
  };
  // Albedo: every mesh unlit in its base color, texture and vertex colors, independent of lights and normals. An
  // OBJ's colors (MTL Kd, map_Kd, vertex colors) are sRGB: linearized, as glTF's are.
  var undefinedColors = false;  // a NaN vertex color: the GPU's rendering of it means nothing
  var unlit = function (root, srgb) {
    var linear = function (c) { return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    root.traverse(function (o) {
      if (!o.isMesh) return;
      var colors = o.geometry.attributes && o.geometry.attributes.color;
      if (colors && srgb && !colors.linearized) {
        for (var i = 0; i < colors.array.length; i++) colors.array[i] = linear(colors.array[i]);
        colors.linearized = true;
      }
      if (colors) undefinedColors = undefinedColors || Array.prototype.some.call(colors.array, isNaN);
      var convert = function (m) {
        var basic = new THREE.MeshBasicMaterial({
          color: m.color ? m.color.clone() : new THREE.Color(1, 1, 1), map: m.map || null, side: THREE.DoubleSide,
          transparent: !!m.transparent, opacity: m.opacity === undefined ? 1 : m.opacity, alphaTest: m.alphaTest || 0,
          vertexColors: colors ? THREE.VertexColors : THREE.NoColors,
          skinning: !!o.isSkinnedMesh, morphTargets: !!o.morphTargetInfluences});
        if (srgb) {
          basic.color.convertSRGBToLinear();
          if (basic.map) { basic.map.encoding = THREE.sRGBEncoding; basic.map.needsUpdate = true; }
        }
        return basic;
      };
      o.material = Array.isArray(o.material) ? o.material.map(convert) : convert(o.material);
    });
  };
  // The MTL's textures load after the OBJ (GLTFLoader waits for its own): wait for their images, a while at most;
  // a texture that did not load (a missing file) is left out, so the material keeps its color (as our readers do).
  var whenTexturesLoad = function (root, then) {
    var materials = [];
    root.traverse(function (o) {
      if (o.isMesh) [].concat(o.material).forEach(function (m) { if (m.map) materials.push(m); });
    });
    var tries = 0;
    (function wait() {
      if (tries++ < 200 && !materials.every(function (m) { return m.map.image; })) { setTimeout(wait, 25); return; }
      materials.forEach(function (m) { if (!m.map.image) { m.map = null; m.needsUpdate = true; } });
      then();
    })();
  };
  var failed = function (error) {
    report('error loader: ' + (error && error.message ? error.message : error && error.target && error.target.src ? 'cannot load ' + error.target.src : String(error)));
  };
  if (/\.obj$/i.test(model)) {  // with its first material library, when it names one that loads
    new THREE.OBJLoader().load(model, function (group) {
      if (!group.materialLibraries.length) { done({scene: group}); return; }
      new THREE.MTLLoader().setPath(model.substring(0, model.lastIndexOf('/') + 1)).load(
        group.materialLibraries[0], function (materials) {
          materials.preload();
          new THREE.OBJLoader().setMaterials(materials).load(model, function (g) {
            whenTexturesLoad(g, function () { done({scene: g}); });
          }, undefined, failed);
        }, undefined, function () { done({scene: group}); });
    }, undefined, failed);
  } else {
    new THREE.GLTFLoader().load(model, done, undefined, failed);
  }
} catch (e) {
  report('error exception: ' + e.message);
}
</script></body></html>
"""


def serve(model_path, background):
    """Serve the page, three.js and the model's folder (so relative .bin/.mtl/image references resolve) in a thread."""
    results = []
    folder = os.path.dirname(os.path.abspath(model_path))
    page = PAGE.replace("BG", "%d,%d,%d" % background).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path = urllib.parse.unquote(self.path.split("?", 1)[0])
            if path == "/" or path.startswith("/index.html"):
                self.send(page, "text/html")
            elif path.startswith("/model/") and ".." not in path:
                file = os.path.join(folder, path[len("/model/"):])
                self.send_file(file, "application/octet-stream")
            elif path.startswith("/three/") and ".." not in path:
                self.send_file(os.path.join(THREE, path[len("/three/"):]), "application/javascript")
            else:
                self.send_error(404)

        def send_file(self, file, kind):
            if os.path.isfile(file):
                with open(file, "rb") as f:
                    self.send(f.read(), kind)
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


def load_pixels(png_path):
    from PIL import Image
    import numpy as np
    return np.asarray(Image.open(png_path).convert("RGB"), dtype=np.float64)


def non_background_fraction(png_path, background=BACKGROUND):
    pixels = load_pixels(png_path)
    differ = (abs(pixels - background).max(axis=2) > 8)
    return float(differ.mean()) if differ.size else 0.0


def render(model, png, size="640x480", box=None, depth=False, camera=None, background=BACKGROUND, attempts=3,
           file_lights=True, albedo=False):
    """Renders `model` into `png`; returns (message, error): message is the page's "ok ..." line, error a reason.
    A Chromium that does not finish (a loaded machine) is tried again, up to `attempts` times."""
    for _ in range(attempts - 1):
        message, error = render_once(model, png, size, box, depth, camera, background, file_lights, albedo)
        if error is None or "did not finish" not in error:
            return message, error
    return render_once(model, png, size, box, depth, camera, background, file_lights, albedo)


def render_once(model, png, size, box, depth, camera, background, file_lights=True, albedo=False):
    width, height = size.split("x")
    server, results = serve(model, background)
    query = {"w": width, "h": height, "model": "/model/" + urllib.parse.quote(os.path.basename(model))}
    if box:
        query["box"] = box
    if depth:
        query["depth"] = "1"
    if albedo:
        query["albedo"] = "1"
    if not file_lights:
        query["nolights"] = "1"
    if camera:
        query["camera"] = ",".join(repr(v) for v in camera)
    try:
        with tempfile.TemporaryDirectory(prefix="render-profile-", ignore_cleanup_errors=True) as profile:
            if os.path.exists(png):
                os.remove(png)
            command = [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu-sandbox", "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", "--no-first-run",
                "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw",
                f"--screenshot={png}",
                f"http://127.0.0.1:{server.server_address[1]}/index.html?{urllib.parse.urlencode(query)}",
            ]
            # Its own process group, so that a timeout ends the GPU and renderer children too.
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                    errors="replace", start_new_session=True)
            try:
                _, stderr = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                return None, "chromium did not finish within 120 s"
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # helpers that outlived the browser
            except ProcessLookupError:
                pass
    finally:
        server.shutdown()
    if not results:
        tail = stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return None, f"the page reported nothing (chromium: {tail[0]})"
    if not results[0].startswith("ok"):
        return None, results[0]
    if not os.path.isfile(png):
        return None, f"chromium wrote no screenshot (exit {proc.returncode})"
    return results[0], None


def ssim(a, b):
    """Mean structural similarity of two RGB pictures over luminance, 7×7 uniform windows (Wang et al. 2004)."""
    from scipy.ndimage import uniform_filter
    weights = [0.299, 0.587, 0.114]
    x, y = (p @ weights for p in (a, b))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = uniform_filter(x, 7), uniform_filter(y, 7)
    vx = uniform_filter(x * x, 7) - mx * mx
    vy = uniform_filter(y * y, 7) - my * my
    cxy = uniform_filter(x * y, 7) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def compare(reference, out_dir, candidates, size="320x240", depth=False, file_lights=True, albedo=False):
    """Renders the reference and each candidate with the reference's camera; yields one result dict each."""
    os.makedirs(out_dir, exist_ok=True)
    prefix = "albedo-" if albedo else ""
    ref_png = os.path.join(out_dir, prefix + "reference.png")
    message, error = render(reference, ref_png, size, depth=depth, file_lights=file_lights, albedo=albedo)
    if error:
        yield {"file": reference, "error": "reference: " + error}
        return
    box = message.split("box=", 1)[1].split()[0]
    if "nan-colors" in message.split():
        for candidate in candidates:
            yield {"file": candidate, "skipped": "the reference's vertex colors include NaN (no color to compare with)"}
        return
    if "zero-normals" in message.split():
        for candidate in candidates:
            yield {"file": candidate, "skipped": "the reference has zero-length normals (its lighting is undefined)",
                   "unlit": True}
        return
    ref = load_pixels(ref_png)
    for i, candidate in enumerate(candidates):
        png = os.path.join(out_dir, f"{prefix}candidate{i}.png")
        _, error = render(candidate, png, size, box=box, depth=depth, file_lights=file_lights, albedo=albedo)
        if error:
            yield {"file": candidate, "error": error}
            continue
        pixels = load_pixels(png)
        differ = abs(pixels - ref).max(axis=2) > 24
        yield {"file": candidate, "png": png, "reference_png": ref_png,
               "reference_covered": non_background_fraction(ref_png), "covered": non_background_fraction(png),
               "differ": float(differ.mean()), "ssim": ssim(ref, pixels)}


def main(argv):
    size = next((a.split("=", 1)[1] for a in argv if a.startswith("--size=")), None)
    if "--compare" in argv:
        args = [a for a in argv if not a.startswith("--")]
        if len(args) < 3 or not os.path.isfile(args[0]):
            print("usage: render.py --compare [--depth] [--size=WxH] REFERENCE OUT_DIR CANDIDATE...", file=sys.stderr)
            return 2
        failed = False
        for result in compare(args[0], args[1], args[2:], size or "320x240", depth="--depth" in argv,
                              albedo="--albedo" in argv):
            print(json.dumps(result), flush=True)
            failed = failed or "error" in result
        return 1 if failed else 0
    args = [a for a in argv if not a.startswith("--")]
    flags = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    try:
        camera = [float(v) for v in flags["camera"].split(",")] if "camera" in flags else None
        background = tuple(int(v) for v in flags["background"].split(",")) if "background" in flags else BACKGROUND
    except ValueError:
        camera, background = [], ()
    if (len(args) != 2 or not os.path.isfile(args[0]) or (camera is not None and len(camera) != 9)
            or len(background) != 3 or set(flags) - {"size", "camera", "background"}):
        print("usage: render.py FILE.glb OUT.png [--size=WxH] [--camera=PX,PY,PZ,TX,TY,TZ,FOV,NEAR,FAR] "
              "[--background=R,G,B]", file=sys.stderr)
        return 2
    glb, png = args[0], os.path.abspath(args[1])
    message, error = render(glb, png, size or "640x480", camera=camera, background=background)
    if error:
        print(f"{glb}: {error}", file=sys.stderr)
        return 1
    fraction = non_background_fraction(png, background)
    if fraction < 0.01:
        print(f"{glb}: screenshot is blank ({fraction * 100:.2f} % of pixels differ from the background)",
              file=sys.stderr)
        return 1
    print(f"{message.split(' box=')[0]} covered={fraction * 100:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
