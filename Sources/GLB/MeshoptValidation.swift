import Meshopt

private typealias J = JSONAccess

extension GLBValidator {
    /// Checks every `EXT_meshopt_compression` bufferView and fallback buffer against the extension's rules, and
    /// decodes the views whose compressed bytes are in the BIN chunk into `decodedViews`.
    mutating func checkMeshoptViews() {
        let name = "EXT_meshopt_compression"
        let buffers = items("buffers")
        func isFallback(_ index: Int?) -> Bool {
            guard let buffer = item("buffers", index) else { return false }
            return J.bool(J.object(J.object(buffer["extensions"])?[name])?["fallback"]) == true
        }
        let required = Set((J.array(root["extensionsRequired"]) ?? []).compactMap(J.string))
        for (i, value) in items("bufferViews").enumerated() {
            guard let view = J.object(value) else { continue }
            let pointer = "/bufferViews/\(i)"
            let parentBuffer = J.index(view["buffer"])
            guard let extValue = J.object(view["extensions"])?[name] else {
                if isFallback(parentBuffer) {
                    issue("\(pointer)/buffer", "only views with \(name) may use fallback buffer \(parentBuffer ?? 0)")
                }
                continue
            }
            let extPointer = "\(pointer)/extensions/\(name)"
            guard let ext = J.object(extValue) else {
                issue(extPointer, "must be an object")
                continue
            }
            guard let buffer = J.index(ext["buffer"]), let length = J.index(ext["byteLength"]), length >= 1,
                let stride = J.index(ext["byteStride"]), stride >= 1, let count = J.index(ext["count"]), count >= 1,
                let mode = J.string(ext["mode"])
            else {
                issue(extPointer, "buffer, byteLength, byteStride, count (positive integers) and mode are required")
                continue
            }
            let offset = J.index(ext["byteOffset"] ?? 0) ?? 0
            let filter = ext["filter"].map { J.string($0) ?? "?" } ?? "NONE"
            var problems: [String] = []
            if !["ATTRIBUTES", "TRIANGLES", "INDICES"].contains(mode) { problems.append("unknown mode \(mode)") }
            if !["NONE", "OCTAHEDRAL", "QUATERNION", "EXPONENTIAL"].contains(filter) {
                problems.append("unknown filter \(filter)")
            }
            if let parentStride = J.index(view["byteStride"]), parentStride != stride {
                problems.append("byteStride \(stride) differs from the bufferView's \(parentStride)")
            }
            if let viewLength = J.index(view["byteLength"]), viewLength != stride * count {
                problems.append(
                    "byteStride × count = \(stride * count) differs from the bufferView's byteLength \(viewLength)")
            }
            switch mode {
            case "ATTRIBUTES" where stride % 4 != 0 || stride > 256:
                problems.append("ATTRIBUTES byteStride must be a multiple of 4 up to 256")
            case "TRIANGLES", "INDICES":
                if mode == "TRIANGLES" && count % 3 != 0 { problems.append("TRIANGLES count must be a multiple of 3") }
                if stride != 2 && stride != 4 { problems.append("\(mode) byteStride must be 2 or 4") }
                if filter != "NONE" { problems.append("\(mode) cannot use a filter") }
            default: break
            }
            switch filter {
            case "OCTAHEDRAL" where stride != 4 && stride != 8: problems.append("OCTAHEDRAL byteStride must be 4 or 8")
            case "QUATERNION" where stride != 8: problems.append("QUATERNION byteStride must be 8")
            case "EXPONENTIAL" where stride % 4 != 0: problems.append("EXPONENTIAL byteStride must be a multiple of 4")
            default: break
            }
            if isFallback(buffer) { problems.append("compressed data cannot come from fallback buffer \(buffer)") }
            if let bufferLength = J.index(item("buffers", buffer)?["byteLength"]), offset + length > bufferLength {
                problems.append(
                    "compressed bytes \(offset)..<\(offset + length) exceed buffer \(buffer) of \(bufferLength) bytes")
            }
            if let parent = parentBuffer, parent != 0, parent < buffers.count,
                J.object(buffers[parent])?["uri"] == nil, !required.contains(name)
            {
                problems.append(
                    "the view's own buffer \(parent) holds no data, so \(name) must be in extensionsRequired")
            }
            for problem in problems { issue(extPointer, problem) }
            guard problems.isEmpty, buffer == 0, binBufferUsable, let bin, offset + length <= bin.count else {
                continue
            }

            let source = bin.lowerBound + offset..<bin.lowerBound + offset + length
            var decoded: [UInt8]? = bytes.withUnsafeBytes { raw in
                let encoded = UnsafeRawBufferPointer(rebasing: raw[source])
                switch mode {
                case "TRIANGLES": return MeshoptCodec.decodeIndexBuffer(encoded, count: count, indexSize: stride)
                case "INDICES": return MeshoptCodec.decodeIndexSequence(encoded, count: count, indexSize: stride)
                default: return MeshoptCodec.decodeVertexBuffer(encoded, count: count, stride: stride)
                }
            }
            guard decoded != nil else {
                issue(extPointer, "the compressed \(mode) data does not decode")
                continue
            }
            switch filter {
            case "OCTAHEDRAL": MeshoptFilter.decodeOctahedral(&decoded!, count: count, stride: stride)
            case "QUATERNION": MeshoptFilter.decodeQuaternion(&decoded!, count: count)
            case "EXPONENTIAL": MeshoptFilter.decodeExponential(&decoded!, count: count, stride: stride)
            default: break
            }
            let data = decoded!
            // An uncompressed copy in the BIN chunk must say the same thing.
            let viewOffset = J.index(view["byteOffset"] ?? 0) ?? 0
            if parentBuffer == 0, viewOffset + data.count <= bin.count,
                !bytes[bin.lowerBound + viewOffset..<bin.lowerBound + viewOffset + data.count].elementsEqual(data)
            {
                issue(pointer, "the uncompressed data differs from the decoded \(name) data")
            }
            while bytes.count % 4 != 0 { bytes.append(0) }
            decodedViews[i] = bytes.count
            bytes += data
        }
    }
}
