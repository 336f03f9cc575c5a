// Implementation of cdraco.h over libdraco 1.5. No C++ exception escapes these functions.
#include "cdraco.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <draco/compression/decode.h>
#include <draco/compression/expert_encode.h>
#include <draco/core/decoder_buffer.h>
#include <draco/core/encoder_buffer.h>
#include <draco/mesh/mesh.h>

struct cdraco_mesh {
    std::unique_ptr<draco::Mesh> mesh;
};

namespace {

void set_message(char *message, size_t capacity, const std::string &text) {
    if (message == nullptr || capacity == 0) return;
    std::snprintf(message, capacity, "%s", text.c_str());
}

size_t component_size(int32_t type) {
    switch (type) {
        case CDRACO_FLOAT32: return 4;
        case CDRACO_UINT8: return 1;
        case CDRACO_UINT16: return 2;
        default: return 0;
    }
}

draco::DataType data_type(int32_t type) {
    switch (type) {
        case CDRACO_FLOAT32: return draco::DT_FLOAT32;
        case CDRACO_UINT8: return draco::DT_UINT8;
        default: return draco::DT_UINT16;
    }
}

const char *semantic_name(int32_t semantic) {
    switch (semantic) {
        case CDRACO_POSITION: return "position";
        case CDRACO_NORMAL: return "normal";
        case CDRACO_COLOR: return "color";
        case CDRACO_TEXCOORD: return "texcoord";
        case CDRACO_GENERIC: return "generic";
        default: return nullptr;
    }
}

/// Checks one attribute against the contract; returns an empty string when it is fine.
std::string check_attribute(const cdraco_attribute &a, size_t index, uint32_t vertex_count) {
    const std::string place = "attribute " + std::to_string(index);
    const char *name = semantic_name(a.semantic);
    if (name == nullptr) return place + ": unknown semantic " + std::to_string(a.semantic);
    if (component_size(a.component_type) == 0)
        return place + ": unknown component type " + std::to_string(a.component_type);
    if (a.components < 1 || a.components > 4)
        return place + ": " + std::to_string(a.components) + " components (1 to 4 allowed)";
    if ((a.semantic == CDRACO_POSITION || a.semantic == CDRACO_NORMAL) &&
        (a.components != 3 || a.component_type != CDRACO_FLOAT32))
        return place + ": " + name + " must be 3 floats";
    if (a.quantization_bits < 0 || a.quantization_bits > 30)
        return place + ": quantization bits " + std::to_string(a.quantization_bits) + " (0 to 30 allowed)";
    if (a.values == nullptr) return place + ": no values";
    if (a.component_type == CDRACO_FLOAT32) {
        const float *values = static_cast<const float *>(a.values);
        const size_t count = static_cast<size_t>(vertex_count) * static_cast<size_t>(a.components);
        for (size_t i = 0; i < count; ++i) {
            if (!std::isfinite(values[i]))
                return place + " (" + name + "): value " + std::to_string(i) + " is not finite";
        }
    }
    return std::string();
}

int encode(const uint32_t *indices, size_t index_count, uint32_t vertex_count,
           const cdraco_attribute *attributes, size_t attribute_count, int32_t encoding_speed,
           int32_t decoding_speed, int32_t *attribute_ids, cdraco_encoded *out, char *message,
           size_t message_capacity) {
    if (vertex_count == 0) {
        set_message(message, message_capacity, "mesh has no vertices");
        return CDRACO_INVALID_INPUT;
    }
    if (indices == nullptr || index_count == 0 || index_count % 3 != 0) {
        set_message(message, message_capacity,
                    std::to_string(index_count) + " indices is not a positive multiple of 3");
        return CDRACO_INVALID_INPUT;
    }
    if (index_count / 3 > static_cast<size_t>(INT32_MAX)) {
        set_message(message, message_capacity, "too many triangles for Draco");
        return CDRACO_INVALID_INPUT;
    }
    if (encoding_speed < 0 || encoding_speed > 10 || decoding_speed < 0 || decoding_speed > 10) {
        set_message(message, message_capacity, "speeds must be between 0 and 10");
        return CDRACO_INVALID_INPUT;
    }
    if (attributes == nullptr || attribute_count == 0 || attribute_ids == nullptr) {
        set_message(message, message_capacity, "mesh has no attributes");
        return CDRACO_INVALID_INPUT;
    }
    bool has_position = false;
    for (size_t i = 0; i < attribute_count; ++i) {
        const std::string problem = check_attribute(attributes[i], i, vertex_count);
        if (!problem.empty()) {
            set_message(message, message_capacity, problem);
            return CDRACO_INVALID_INPUT;
        }
        has_position = has_position || attributes[i].semantic == CDRACO_POSITION;
    }
    if (!has_position) {
        set_message(message, message_capacity, "mesh has no position attribute");
        return CDRACO_INVALID_INPUT;
    }
    for (size_t i = 0; i < index_count; ++i) {
        if (indices[i] >= vertex_count) {
            set_message(message, message_capacity,
                        "index " + std::to_string(indices[i]) + " is out of range for " +
                            std::to_string(vertex_count) + " vertices");
            return CDRACO_INVALID_INPUT;
        }
    }

    draco::Mesh mesh;
    mesh.set_num_points(vertex_count);
    const size_t face_count = index_count / 3;
    mesh.SetNumFaces(face_count);
    for (size_t f = 0; f < face_count; ++f) {
        mesh.SetFace(draco::FaceIndex(static_cast<uint32_t>(f)),
                     {draco::PointIndex(indices[3 * f]), draco::PointIndex(indices[3 * f + 1]),
                      draco::PointIndex(indices[3 * f + 2])});
    }
    for (size_t i = 0; i < attribute_count; ++i) {
        const cdraco_attribute &a = attributes[i];
        const size_t stride = component_size(a.component_type) * static_cast<size_t>(a.components);
        draco::GeometryAttribute geometry;
        geometry.Init(static_cast<draco::GeometryAttribute::Type>(a.semantic), nullptr,
                      static_cast<uint8_t>(a.components), data_type(a.component_type), false,
                      static_cast<int64_t>(stride), 0);
        const int id = mesh.AddAttribute(geometry, true, vertex_count);
        if (id < 0) {
            set_message(message, message_capacity, "attribute " + std::to_string(i) + ": Draco refused it");
            return CDRACO_FAILED;
        }
        draco::PointAttribute *attribute = mesh.attribute(id);
        const uint8_t *values = static_cast<const uint8_t *>(a.values);
        for (uint32_t v = 0; v < vertex_count; ++v) {
            attribute->SetAttributeValue(draco::AttributeValueIndex(v), values + static_cast<size_t>(v) * stride);
        }
        attribute_ids[i] = static_cast<int32_t>(attribute->unique_id());
    }

    draco::ExpertEncoder encoder(mesh);
    encoder.SetSpeedOptions(encoding_speed, decoding_speed);
    // Without these Draco does not count what the decoder will produce (glTF accessors must declare it).
    encoder.options().SetGlobalBool("store_number_of_encoded_points", true);
    encoder.options().SetGlobalBool("store_number_of_encoded_faces", true);
    for (size_t i = 0; i < attribute_count; ++i) {
        const cdraco_attribute &a = attributes[i];
        if (a.component_type == CDRACO_FLOAT32 && a.quantization_bits > 0) {
            encoder.SetAttributeQuantization(static_cast<int32_t>(i), a.quantization_bits);
        }
    }
    draco::EncoderBuffer buffer;
    const draco::Status status = encoder.EncodeToBuffer(&buffer);
    if (!status.ok()) {
        set_message(message, message_capacity, std::string("Draco encoding failed: ") + status.error_msg_string());
        return CDRACO_FAILED;
    }
    const size_t length = buffer.size();
    uint8_t *bytes = static_cast<uint8_t *>(std::malloc(length > 0 ? length : 1));
    if (bytes == nullptr) {
        set_message(message, message_capacity, "out of memory for the encoded mesh");
        return CDRACO_OUT_OF_MEMORY;
    }
    std::memcpy(bytes, buffer.data(), length);
    out->bytes = bytes;
    out->length = length;
    out->point_count = static_cast<uint32_t>(encoder.num_encoded_points());
    out->face_count = static_cast<uint32_t>(encoder.num_encoded_faces());
    return CDRACO_OK;
}

int decode(const uint8_t *bytes, size_t length, cdraco_mesh **out, char *message, size_t message_capacity) {
    if (bytes == nullptr || length == 0) {
        set_message(message, message_capacity, "no Draco data");
        return CDRACO_INVALID_INPUT;
    }
    draco::DecoderBuffer buffer;
    buffer.Init(reinterpret_cast<const char *>(bytes), length);
    draco::Decoder decoder;
    auto result = decoder.DecodeMeshFromBuffer(&buffer);
    if (!result.ok()) {
        set_message(message, message_capacity, std::string("Draco decoding failed: ") + result.status().error_msg_string());
        return CDRACO_FAILED;
    }
    std::unique_ptr<cdraco_mesh> mesh(new cdraco_mesh);
    mesh->mesh = std::move(result).value();
    *out = mesh.release();
    return CDRACO_OK;
}

const draco::PointAttribute *attribute_with_id(const cdraco_mesh *mesh, int32_t unique_id) {
    if (mesh == nullptr || unique_id < 0) return nullptr;
    return mesh->mesh->GetAttributeByUniqueId(static_cast<uint32_t>(unique_id));
}

}  // namespace

extern "C" {

int cdraco_encode_mesh(const uint32_t *indices, size_t index_count, uint32_t vertex_count,
                       const cdraco_attribute *attributes, size_t attribute_count, int32_t encoding_speed,
                       int32_t decoding_speed, int32_t *attribute_ids, cdraco_encoded *out, char *message,
                       size_t message_capacity) {
    if (out == nullptr) {
        set_message(message, message_capacity, "no output");
        return CDRACO_INVALID_INPUT;
    }
    *out = cdraco_encoded{nullptr, 0, 0, 0};
    try {
        return encode(indices, index_count, vertex_count, attributes, attribute_count, encoding_speed,
                      decoding_speed, attribute_ids, out, message, message_capacity);
    } catch (const std::bad_alloc &) {
        set_message(message, message_capacity, "out of memory while encoding with Draco");
        return CDRACO_OUT_OF_MEMORY;
    } catch (const std::exception &error) {
        set_message(message, message_capacity, std::string("Draco encoding failed: ") + error.what());
        return CDRACO_FAILED;
    } catch (...) {
        set_message(message, message_capacity, "Draco encoding failed");
        return CDRACO_FAILED;
    }
}

void cdraco_free_encoded(cdraco_encoded *encoded) {
    if (encoded == nullptr) return;
    std::free(encoded->bytes);
    *encoded = cdraco_encoded{nullptr, 0, 0, 0};
}

int cdraco_decode_mesh(const uint8_t *bytes, size_t length, cdraco_mesh **out, char *message,
                       size_t message_capacity) {
    if (out == nullptr) {
        set_message(message, message_capacity, "no output");
        return CDRACO_INVALID_INPUT;
    }
    *out = nullptr;
    try {
        return decode(bytes, length, out, message, message_capacity);
    } catch (const std::bad_alloc &) {
        set_message(message, message_capacity, "out of memory while decoding Draco data");
        return CDRACO_OUT_OF_MEMORY;
    } catch (const std::exception &error) {
        set_message(message, message_capacity, std::string("Draco decoding failed: ") + error.what());
        return CDRACO_FAILED;
    } catch (...) {
        set_message(message, message_capacity, "Draco decoding failed");
        return CDRACO_FAILED;
    }
}

uint32_t cdraco_mesh_point_count(const cdraco_mesh *mesh) {
    return mesh == nullptr ? 0 : mesh->mesh->num_points();
}

uint32_t cdraco_mesh_face_count(const cdraco_mesh *mesh) {
    return mesh == nullptr ? 0 : mesh->mesh->num_faces();
}

void cdraco_mesh_indices(const cdraco_mesh *mesh, uint32_t *out) {
    if (mesh == nullptr || out == nullptr) return;
    const draco::Mesh &m = *mesh->mesh;
    for (uint32_t f = 0; f < m.num_faces(); ++f) {
        const draco::Mesh::Face &face = m.face(draco::FaceIndex(f));
        for (int c = 0; c < 3; ++c) out[3 * f + c] = face[c].value();
    }
}

int32_t cdraco_mesh_attribute_count(const cdraco_mesh *mesh) {
    return mesh == nullptr ? 0 : mesh->mesh->num_attributes();
}

int32_t cdraco_mesh_attribute_unique_id(const cdraco_mesh *mesh, int32_t index) {
    if (mesh == nullptr || index < 0 || index >= mesh->mesh->num_attributes()) return -1;
    return static_cast<int32_t>(mesh->mesh->attribute(index)->unique_id());
}

int32_t cdraco_mesh_attribute_components(const cdraco_mesh *mesh, int32_t unique_id) {
    const draco::PointAttribute *attribute = attribute_with_id(mesh, unique_id);
    return attribute == nullptr ? 0 : attribute->num_components();
}

int cdraco_mesh_attribute_floats(const cdraco_mesh *mesh, int32_t unique_id, float *out) {
    const draco::PointAttribute *attribute = attribute_with_id(mesh, unique_id);
    if (attribute == nullptr || out == nullptr) return 0;
    try {
        const int8_t components = attribute->num_components();
        const uint32_t points = mesh->mesh->num_points();
        for (uint32_t p = 0; p < points; ++p) {
            if (!attribute->ConvertValue<float>(attribute->mapped_index(draco::PointIndex(p)), components,
                                                out + static_cast<size_t>(p) * components))
                return 0;
        }
        return 1;
    } catch (...) {
        return 0;
    }
}

void cdraco_mesh_free(cdraco_mesh *mesh) { delete mesh; }

}  // extern "C"
