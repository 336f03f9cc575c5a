import CAssimp
import FoundationEssentials
import ImportSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The file system Assimp sees during one import (`aiFileIO`).
///
/// The model is presented under a virtual name in its real folder carrying the extension of the detected format,
/// because Assimp picks its loader by extension. Every other file a loader opens (.mtl, .bin, zipped parts) is
/// resolved through `ModelFolder`, so nothing outside the model's folder can be read; writes are refused.
final class SandboxedFileIO {
    let virtualPath: String
    private let modelPath: String
    private let folder: ModelFolder
    /// References a loader asked for that lie outside the model's folder, once each, in request order.
    /// (Missing files are not listed: loaders probe for optional files and report what they need themselves.)
    private(set) var refused: [String] = []
    private var io: aiFileIO

    init(modelURL: URL, extension ext: String) {
        modelPath = modelURL.path
        folder = ModelFolder(modelURL: modelURL)
        let base = modelURL.lastPathComponent
        let name = base.lowercased().hasSuffix("." + ext) ? base : base + "." + ext
        virtualPath = folder.root + "/" + name
        io = aiFileIO(OpenProc: sandboxOpen, CloseProc: sandboxClose, UserData: nil)
    }

    /// Calls `body` with an `aiFileIO` bound to this sandbox.
    func withFileIO<R>(_ body: (UnsafeMutablePointer<aiFileIO>) throws -> R) rethrows -> R {
        let context = Unmanaged.passUnretained(self).toOpaque()
        io.UserData = context.assumingMemoryBound(to: CChar.self)
        return try withExtendedLifetime(self) { try withUnsafeMutablePointer(to: &io) { try body($0) } }
    }

    fileprivate func open(_ name: String, mode: String) -> UnsafeMutablePointer<aiFile>? {
        guard !mode.contains("w"), !mode.contains("a"), !mode.contains("+") else { return nil }
        let real: String
        if name == virtualPath {
            real = modelPath
        } else {
            switch folder.resolve(name) {
            case .found(let path): real = path
            case .missing: return nil
            case .outside:
                if !refused.contains(name) { refused.append(name) }
                return nil
            }
        }
        guard let stream = fopen(real, "rb") else { return nil }
        let file = UnsafeMutablePointer<aiFile>.allocate(capacity: 1)
        file.initialize(
            to: aiFile(
                ReadProc: sandboxRead, WriteProc: sandboxWrite, TellProc: sandboxTell,
                FileSizeProc: sandboxSize, SeekProc: sandboxSeek, FlushProc: sandboxFlush,
                UserData: UnsafeMutableRawPointer(stream).assumingMemoryBound(to: CChar.self)))
        return file
    }
}

private func stream(_ file: UnsafeMutablePointer<aiFile>?) -> UnsafeMutablePointer<FILE> {
    UnsafeMutableRawPointer(file!.pointee.UserData!).assumingMemoryBound(to: FILE.self)
}

private func sandboxOpen(
    _ io: UnsafeMutablePointer<aiFileIO>?, _ name: UnsafePointer<CChar>?,
    _ mode: UnsafePointer<CChar>?
) -> UnsafeMutablePointer<aiFile>? {
    guard let io, let name, let user = io.pointee.UserData else { return nil }
    let sandbox = Unmanaged<SandboxedFileIO>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
    return sandbox.open(String(cString: name), mode: mode.map { String(cString: $0) } ?? "rb")
}

private func sandboxClose(_ io: UnsafeMutablePointer<aiFileIO>?, _ file: UnsafeMutablePointer<aiFile>?) {
    guard let file else { return }
    fclose(stream(file))
    file.deinitialize(count: 1)
    file.deallocate()
}

private func sandboxRead(
    _ file: UnsafeMutablePointer<aiFile>?, _ buffer: UnsafeMutablePointer<CChar>?,
    _ size: Int, _ count: Int
) -> Int {
    guard size > 0, count > 0 else { return 0 }
    return fread(buffer, size, count, stream(file))
}

private func sandboxWrite(
    _ file: UnsafeMutablePointer<aiFile>?, _ buffer: UnsafePointer<CChar>?,
    _ size: Int, _ count: Int
) -> Int { 0 }

private func sandboxTell(_ file: UnsafeMutablePointer<aiFile>?) -> Int { ftell(stream(file)) }

private func sandboxSize(_ file: UnsafeMutablePointer<aiFile>?) -> Int {
    var info = stat()
    return fstat(fileno(stream(file)), &info) == 0 ? Int(info.st_size) : 0
}

private func sandboxSeek(_ file: UnsafeMutablePointer<aiFile>?, _ offset: Int, _ origin: aiOrigin) -> aiReturn {
    let whence: Int32
    switch origin {
    case aiOrigin_SET: whence = SEEK_SET
    case aiOrigin_CUR: whence = SEEK_CUR
    case aiOrigin_END: whence = SEEK_END
    default: return aiReturn_FAILURE
    }
    return fseek(stream(file), offset, whence) == 0 ? aiReturn_SUCCESS : aiReturn_FAILURE
}

private func sandboxFlush(_ file: UnsafeMutablePointer<aiFile>?) {}
