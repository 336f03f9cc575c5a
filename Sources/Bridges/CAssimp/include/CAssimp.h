#ifndef CASSIMP_H
#define CASSIMP_H

// Assimp's C API, loaded on first use (dlopen of libassimp.so.5): a process that never reads a file through Assimp
// neither maps nor relocates the library (about 3 MB of resident memory and 2 ms at every start).
// Assimp's own types and constants come from its headers; call its functions only through the cassimp_ names
// below, and only after cassimp_load() returned NULL.

#include <assimp/cfileio.h>
#include <assimp/cimport.h>
#include <assimp/material.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>
#include <assimp/version.h>

/// Loads Assimp once (thread-safe); NULL when it is ready, else why it cannot be loaded (dlopen's message).
const char *cassimp_load(void);

const struct aiScene *cassimp_importFileExWithProperties(
    const char *file, unsigned int flags, struct aiFileIO *io, const struct aiPropertyStore *properties);
void cassimp_releaseImport(const struct aiScene *scene);
const char *cassimp_getErrorString(void);
struct aiPropertyStore *cassimp_createPropertyStore(void);
void cassimp_releasePropertyStore(struct aiPropertyStore *store);
void cassimp_setImportPropertyInteger(struct aiPropertyStore *store, const char *name, int value);
void cassimp_decomposeMatrix(
    const struct aiMatrix4x4 *matrix, struct aiVector3D *scaling, struct aiQuaternion *rotation,
    struct aiVector3D *position);
unsigned int cassimp_getVersionMajor(void);
unsigned int cassimp_getVersionMinor(void);
unsigned int cassimp_getVersionPatch(void);
unsigned int cassimp_getMaterialTextureCount(const struct aiMaterial *material, enum aiTextureType type);
enum aiReturn cassimp_getMaterialTexture(
    const struct aiMaterial *material, enum aiTextureType type, unsigned int index, struct aiString *path,
    enum aiTextureMapping *mapping, unsigned int *uvIndex, ai_real *blend, enum aiTextureOp *op,
    enum aiTextureMapMode *mapMode, unsigned int *flags);
enum aiReturn cassimp_getMaterialFloatArray(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index, ai_real *out,
    unsigned int *max);
enum aiReturn cassimp_getMaterialIntegerArray(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index, int *out,
    unsigned int *max);
enum aiReturn cassimp_getMaterialColor(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index, struct aiColor4D *out);
enum aiReturn cassimp_getMaterialString(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index, struct aiString *out);

#endif
