#include "CAssimp.h"

#include <dlfcn.h>
#include <pthread.h>

// One pointer per Assimp function, resolved together by cassimp_load.
#define ASSIMP_FUNCTIONS(X)                                                                                         \
    X(aiImportFileExWithProperties) X(aiReleaseImport) X(aiGetErrorString) X(aiCreatePropertyStore)                \
    X(aiReleasePropertyStore) X(aiSetImportPropertyInteger) X(aiDecomposeMatrix) X(aiGetVersionMajor)              \
    X(aiGetVersionMinor) X(aiGetVersionPatch) X(aiGetMaterialTextureCount) X(aiGetMaterialTexture)                  \
    X(aiGetMaterialFloatArray) X(aiGetMaterialIntegerArray) X(aiGetMaterialColor) X(aiGetMaterialString)

#define DECLARE(name) static __typeof__(&name) p_##name;
ASSIMP_FUNCTIONS(DECLARE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failure;

static void load(void) {
    void *library = dlopen("libassimp.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        failure = dlerror();
        return;
    }
#define RESOLVE(name)                                                                                               \
    if (!(p_##name = (__typeof__(&name))dlsym(library, #name))) {                                                   \
        failure = "libassimp.so.5 lacks " #name;                                                                    \
        return;                                                                                                     \
    }
    ASSIMP_FUNCTIONS(RESOLVE)
}

const char *cassimp_load(void) {
    pthread_once(&once, load);
    return failure;
}

const struct aiScene *cassimp_importFileExWithProperties(
    const char *file, unsigned int flags, struct aiFileIO *io, const struct aiPropertyStore *properties) {
    return p_aiImportFileExWithProperties(file, flags, io, properties);
}
void cassimp_releaseImport(const struct aiScene *scene) { p_aiReleaseImport(scene); }
const char *cassimp_getErrorString(void) { return p_aiGetErrorString(); }
struct aiPropertyStore *cassimp_createPropertyStore(void) { return p_aiCreatePropertyStore(); }
void cassimp_releasePropertyStore(struct aiPropertyStore *store) { p_aiReleasePropertyStore(store); }
void cassimp_setImportPropertyInteger(struct aiPropertyStore *store, const char *name, int value) {
    p_aiSetImportPropertyInteger(store, name, value);
}
void cassimp_decomposeMatrix(
    const struct aiMatrix4x4 *matrix, struct aiVector3D *scaling, struct aiQuaternion *rotation,
    struct aiVector3D *position) {
    p_aiDecomposeMatrix(matrix, scaling, rotation, position);
}
unsigned int cassimp_getVersionMajor(void) { return p_aiGetVersionMajor(); }
unsigned int cassimp_getVersionMinor(void) { return p_aiGetVersionMinor(); }
unsigned int cassimp_getVersionPatch(void) { return p_aiGetVersionPatch(); }
unsigned int cassimp_getMaterialTextureCount(const struct aiMaterial *material, enum aiTextureType type) {
    return p_aiGetMaterialTextureCount(material, type);
}
enum aiReturn cassimp_getMaterialTexture(
    const struct aiMaterial *material, enum aiTextureType type, unsigned int index, struct aiString *path,
    enum aiTextureMapping *mapping, unsigned int *uvIndex, ai_real *blend, enum aiTextureOp *op,
    enum aiTextureMapMode *mapMode, unsigned int *flags) {
    return p_aiGetMaterialTexture(material, type, index, path, mapping, uvIndex, blend, op, mapMode, flags);
}
enum aiReturn cassimp_getMaterialFloatArray(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index, ai_real *out,
    unsigned int *max) {
    return p_aiGetMaterialFloatArray(material, key, type, index, out, max);
}
enum aiReturn cassimp_getMaterialIntegerArray(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index, int *out,
    unsigned int *max) {
    return p_aiGetMaterialIntegerArray(material, key, type, index, out, max);
}
enum aiReturn cassimp_getMaterialColor(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index,
    struct aiColor4D *out) {
    return p_aiGetMaterialColor(material, key, type, index, out);
}
enum aiReturn cassimp_getMaterialString(
    const struct aiMaterial *material, const char *key, unsigned int type, unsigned int index,
    struct aiString *out) {
    return p_aiGetMaterialString(material, key, type, index, out);
}
