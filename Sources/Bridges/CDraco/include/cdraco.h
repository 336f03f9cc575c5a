// A small C API over libdraco's mesh encoder and decoder, for Swift (which cannot import draco's C++ types).
// Every function catches all C++ exceptions; failures come back as a status code plus a one-line message.
#ifndef CDRACO_H
#define CDRACO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes returned by the functions below.
enum {
    CDRACO_OK = 0,
    /// The input breaks the documented contract (counts, ranges, non-finite floats, …).
    CDRACO_INVALID_INPUT = 1,
    /// libdraco refused to encode or decode.
    CDRACO_FAILED = 2,
    /// An allocation failed.
    CDRACO_OUT_OF_MEMORY = 3,
};

/// What an attribute means to Draco (draco::GeometryAttribute::Type values).
enum {
    CDRACO_POSITION = 0,
    CDRACO_NORMAL = 1,
    CDRACO_COLOR = 2,
    CDRACO_TEXCOORD = 3,
    CDRACO_GENERIC = 4,
};

/// Component types of attribute values.
enum {
    CDRACO_FLOAT32 = 0,
    CDRACO_UINT8 = 1,
    CDRACO_UINT16 = 2,
};

/// One per-vertex attribute: `vertex_count * components` tightly packed values of `component_type`.
typedef struct cdraco_attribute {
    int32_t semantic;
    int32_t component_type;
    /// 1 to 4.
    int32_t components;
    /// 0 keeps float values exact; 1 to 30 quantizes them (ignored for integer attributes).
    int32_t quantization_bits;
    const void *values;
} cdraco_attribute;

/// An encoded Draco mesh; release `bytes` with `cdraco_free_encoded`.
typedef struct cdraco_encoded {
    uint8_t *bytes;
    size_t length;
    /// Points and faces the decoder will produce (Draco may split or drop some while encoding).
    uint32_t point_count;
    uint32_t face_count;
} cdraco_encoded;

/// Encodes a triangle mesh.
///
/// `indices` holds `index_count` (a non-zero multiple of 3) values below `vertex_count` (at least 1).
/// Speeds run from 0 (smallest output) to 10 (fastest). On success fills `out` and writes each attribute's Draco
/// unique id to `attribute_ids[i]`. On failure writes a message to `message` (always NUL-terminated when
/// `message_capacity` > 0) and leaves `out` empty.
int cdraco_encode_mesh(const uint32_t *indices, size_t index_count, uint32_t vertex_count,
                       const cdraco_attribute *attributes, size_t attribute_count,
                       int32_t encoding_speed, int32_t decoding_speed,
                       int32_t *attribute_ids, cdraco_encoded *out, char *message, size_t message_capacity);

void cdraco_free_encoded(cdraco_encoded *encoded);

/// A decoded Draco mesh (opaque).
typedef struct cdraco_mesh cdraco_mesh;

/// Decodes a Draco triangle mesh into `*out`; release it with `cdraco_mesh_free`.
int cdraco_decode_mesh(const uint8_t *bytes, size_t length, cdraco_mesh **out, char *message, size_t message_capacity);

uint32_t cdraco_mesh_point_count(const cdraco_mesh *mesh);
uint32_t cdraco_mesh_face_count(const cdraco_mesh *mesh);
/// Writes `3 * face_count` point indices.
void cdraco_mesh_indices(const cdraco_mesh *mesh, uint32_t *out);
int32_t cdraco_mesh_attribute_count(const cdraco_mesh *mesh);
/// Unique id of the attribute at `index` (0 ..< attribute count), or -1 when out of range.
int32_t cdraco_mesh_attribute_unique_id(const cdraco_mesh *mesh, int32_t index);
/// Components of the attribute with this unique id, or 0 when the mesh has none.
int32_t cdraco_mesh_attribute_components(const cdraco_mesh *mesh, int32_t unique_id);
/// Writes `point_count * components` values of that attribute converted to float; returns 0 when it cannot.
int cdraco_mesh_attribute_floats(const cdraco_mesh *mesh, int32_t unique_id, float *out);

void cdraco_mesh_free(cdraco_mesh *mesh);

#ifdef __cplusplus
}
#endif

#endif
