#include "nexp_scene.h"

#include <math.h>
#include <stdlib.h>

#include "nexp_rng.h"

#define SCENE_MAX_VERTS 9
#define SCENE_OCTAVES 5
/* Probability that a foreground layer moves with a layer below it, and that the frames are blurred. */
#define SCENE_SHARE_MOTION 0.35
#define SCENE_BLUR 0.5
/* With photos: probability that a foreground layer shows a photo (the background always does), and
 * the range of the photo's pixels per scene pixel. */
#define SCENE_PHOTO_LAYER 0.5
#define SCENE_PHOTO_SCALE_MIN 0.5
#define SCENE_PHOTO_SCALE_MAX 1.5
/* Thin bars (options.thin): half widths in pixels (bars 1..4 px wide), and how much faster than the
 * other layers they may move. */
#define SCENE_BAR_HALF_WIDTH_MIN 0.5
#define SCENE_BAR_HALF_WIDTH_MAX 2.0
#define SCENE_BAR_SPEEDUP 2.0

typedef struct layer {
    /* shape, in frame-1 coordinates; the background (index 0) covers everything */
    int is_background, is_polygon, is_bar, nverts;
    double cx, cy, rx, ry, cos_r, sin_r; /* a bar: half length rx, half width ry */
    double vert_radius[SCENE_MAX_VERTS];
    /* texture */
    double base[3], grad[3][2], noise_amp[3], noise_freq, stripe_amp[3], stripe_kx, stripe_ky, stripe_phase;
    double patch_amp[3], patch_freq;
    uint64_t noise_seed;
    /* or a photo: photo point (ph_x, ph_y) + ph_a (x - c) for the layer point x */
    const nexp_field *photo;
    double ph_x, ph_y, ph_a[2][2];
    /* motion x -> c + t + (I + M)(x - c) about the motion centre c = (mx, my), and its inverse */
    double mx, my, tx, ty, m[2][2], inv[2][2];
} layer;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Random lattice value in [-1, 1] at integer point (ix, iy) of octave o. */
static double lattice(uint64_t seed, long ix, long iy, int o)
{
    uint64_t h = mix64(seed ^ mix64((uint64_t)ix * 0x9e3779b97f4a7c15ULL ^ mix64((uint64_t)iy + 0x632be59bd9b4e019ULL)
                                    ^ ((uint64_t)o << 56)));
    return (double)(h >> 11) * 0x1.0p-52 - 1.0;
}

static double quintic(double t)
{
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0);
}

/* Fractal value noise: octaves of C2-interpolated lattice noise, amplitude halving as the frequency
 * doubles (a 1/f spectrum); roughly in [-1, 1]. */
static double fractal_noise(uint64_t seed, double x, double y, double freq)
{
    double sum = 0.0, amp = 0.5;
    for (int o = 0; o < SCENE_OCTAVES; o++) {
        double px = x * freq, py = y * freq;
        double fx = floor(px), fy = floor(py);
        long ix = (long)fx, iy = (long)fy;
        double sx = quintic(px - fx), sy = quintic(py - fy);
        double v00 = lattice(seed, ix, iy, o), v10 = lattice(seed, ix + 1, iy, o);
        double v01 = lattice(seed, ix, iy + 1, o), v11 = lattice(seed, ix + 1, iy + 1, o);
        double top = v00 + sx * (v10 - v00), bot = v01 + sx * (v11 - v01);
        sum += amp * (top + sy * (bot - top));
        amp *= 0.5;
        freq *= 2.0;
    }
    return sum;
}

static int layer_contains(const layer *l, double x, double y)
{
    if (l->is_background) {
        return 1;
    }
    double dx = x - l->cx, dy = y - l->cy;
    double lx = l->cos_r * dx + l->sin_r * dy, ly = -l->sin_r * dx + l->cos_r * dy;
    if (l->is_bar) {
        return fabs(lx) <= l->rx && fabs(ly) <= l->ry;
    }
    if (!l->is_polygon) {
        double ex = lx / l->rx, ey = ly / l->ry;
        return ex * ex + ey * ey <= 1.0;
    }
    /* star-shaped polygon: vertex k at angle 2 pi k / n with radius vert_radius[k]; crossing test */
    int inside = 0;
    int n = l->nverts;
    for (int k = 0, j = n - 1; k < n; j = k++) {
        double ak = 2.0 * M_PI * k / n, aj = 2.0 * M_PI * j / n;
        double xk = l->rx * l->vert_radius[k] * cos(ak), yk = l->ry * l->vert_radius[k] * sin(ak);
        double xj = l->rx * l->vert_radius[j] * cos(aj), yj = l->ry * l->vert_radius[j] * sin(aj);
        if ((yk > ly) != (yj > ly) && lx < (xj - xk) * (ly - yk) / (yj - yk) + xk) {
            inside = !inside;
        }
    }
    return inside;
}

/* t reflected into [0, n - 1] (mirrored copies of the photo tile the plane). */
static double mirror(double t, int n)
{
    double period = 2.0 * (n - 1);
    t = fmod(t, period);
    if (t < 0.0) {
        t += period;
    }
    return t > n - 1 ? period - t : t;
}

static void photo_color(const layer *l, double x, double y, float rgb[3])
{
    const nexp_field *p = l->photo;
    double dx = x - l->cx, dy = y - l->cy;
    double u = mirror(l->ph_x + l->ph_a[0][0] * dx + l->ph_a[0][1] * dy, p->width);
    double v = mirror(l->ph_y + l->ph_a[1][0] * dx + l->ph_a[1][1] * dy, p->height);
    int x0 = (int)u, y0 = (int)v;
    int x1 = x0 + 1 < p->width ? x0 + 1 : x0, y1 = y0 + 1 < p->height ? y0 + 1 : y0;
    double sx = u - x0, sy = v - y0;
    for (int c = 0; c < 3; c++) {
        const float *r0 = nexp_field_row(p, c, y0), *r1 = nexp_field_row(p, c, y1);
        double top = r0[x0] + sx * (r0[x1] - r0[x0]), bot = r1[x0] + sx * (r1[x1] - r1[x0]);
        rgb[c] = (float)(top + sy * (bot - top));
    }
}

static void layer_color(const layer *l, double x, double y, float rgb[3])
{
    if (l->photo != NULL) {
        photo_color(l, x, y, rgb);
        return;
    }
    double n = fractal_noise(l->noise_seed, x, y, l->noise_freq);
    double n2 = fractal_noise(l->noise_seed ^ 0x5bd1e995ULL, x, y, l->noise_freq * 1.7);
    double stripe = sin(l->stripe_kx * x + l->stripe_ky * y + l->stripe_phase);
    /* patches: sharp-edged colour regions painted on the layer (edges that are no motion boundary) */
    double patch = l->patch_freq > 0.0 && fractal_noise(l->noise_seed ^ 0x2545f4914f6cdd1dULL, x, y, l->patch_freq) > 0.0
                       ? 1.0
                       : 0.0;
    for (int c = 0; c < 3; c++) {
        double v = l->base[c] + l->grad[c][0] * (x - l->cx) + l->grad[c][1] * (y - l->cy) +
                   l->noise_amp[c] * (c == 1 ? 0.6 * n + 0.4 * n2 : n) + l->stripe_amp[c] * stripe +
                   l->patch_amp[c] * patch;
        rgb[c] = (float)(v < 0.0 ? 0.0 : (v > 255.0 ? 255.0 : v));
    }
}

static void layer_forward(const layer *l, double x, double y, double *ox, double *oy)
{
    double dx = x - l->mx, dy = y - l->my;
    *ox = x + l->tx + l->m[0][0] * dx + l->m[0][1] * dy;
    *oy = y + l->ty + l->m[1][0] * dx + l->m[1][1] * dy;
}

static void layer_inverse(const layer *l, double x, double y, double *ox, double *oy)
{
    double dx = x - l->mx - l->tx, dy = y - l->my - l->ty;
    *ox = l->mx + l->inv[0][0] * dx + l->inv[0][1] * dy;
    *oy = l->my + l->inv[1][0] * dx + l->inv[1][1] * dy;
}

/* Topmost layer covering frame-2 point (x, y). */
static int top_layer_frame2(const layer *layers, int n, double x, double y, double *px, double *py)
{
    for (int l = n - 1; l > 0; l--) {
        layer_inverse(&layers[l], x, y, px, py);
        if (layer_contains(&layers[l], *px, *py)) {
            return l;
        }
    }
    layer_inverse(&layers[0], x, y, px, py);
    return 0;
}

static void share_motion(layer *l, const layer *from)
{
    l->mx = from->mx;
    l->my = from->my;
    l->tx = from->tx;
    l->ty = from->ty;
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            l->m[i][j] = from->m[i][j];
            l->inv[i][j] = from->inv[i][j];
        }
    }
}

/* Separable [1 2 1] / 4 blur of every channel (edge pixels replicated): soft edges as a camera makes them. */
static nexp_status blur_field(nexp_field *f, nexp_error *err)
{
    const int w = f->width, h = f->height;
    float *tmp = malloc((size_t)w * (size_t)h * sizeof(float));
    if (tmp == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory blurring a %d x %d scene", w, h);
    }
    for (int c = 0; c < f->channels; c++) {
        for (int y = 0; y < h; y++) {
            const float *r = nexp_field_row(f, c, y);
            for (int x = 0; x < w; x++) {
                float a = r[x > 0 ? x - 1 : 0], b = r[x + 1 < w ? x + 1 : w - 1];
                tmp[(size_t)y * w + x] = 0.25f * a + 0.5f * r[x] + 0.25f * b;
            }
        }
        for (int y = 0; y < h; y++) {
            const float *a = tmp + (size_t)(y > 0 ? y - 1 : 0) * w, *m = tmp + (size_t)y * w;
            const float *b = tmp + (size_t)(y + 1 < h ? y + 1 : h - 1) * w;
            float *r = nexp_field_row(f, c, y);
            for (int x = 0; x < w; x++) {
                r[x] = 0.25f * a[x] + 0.5f * m[x] + 0.25f * b[x];
            }
        }
    }
    free(tmp);
    return NEXP_OK;
}

static void make_layer(layer *l, nexp_rng *rng, int background, int w, int h, const nexp_scene_options *o)
{
    double size = (double)(w < h ? w : h);
    l->is_background = background;
    l->cx = background ? 0.5 * (w - 1) : nexp_rng_range(rng, 0.0, 1.0) * (w - 1);
    l->cy = background ? 0.5 * (h - 1) : nexp_rng_range(rng, 0.0, 1.0) * (h - 1);
    l->rx = size * nexp_rng_range(rng, 0.25 * o->layer_size, o->layer_size);
    l->ry = l->rx * nexp_rng_range(rng, 0.4, 1.0);
    double rot = nexp_rng_range(rng, 0.0, M_PI);
    l->cos_r = cos(rot);
    l->sin_r = sin(rot);
    l->is_polygon = nexp_rng_uniform(rng) < 0.5;
    l->nverts = 3 + (int)nexp_rng_below(rng, SCENE_MAX_VERTS - 2);
    for (int k = 0; k < SCENE_MAX_VERTS; k++) {
        l->vert_radius[k] = nexp_rng_range(rng, 0.55, 1.15);
    }
    for (int c = 0; c < 3; c++) {
        l->base[c] = nexp_rng_range(rng, 30.0, 225.0);
        double g = 90.0 / size;
        l->grad[c][0] = nexp_rng_range(rng, -g, g);
        l->grad[c][1] = nexp_rng_range(rng, -g, g);
        l->noise_amp[c] = nexp_rng_range(rng, 20.0, 90.0);
    }
    l->noise_freq = nexp_rng_range(rng, 2.0, 12.0) / size;
    double stripes = nexp_rng_uniform(rng) < 0.3 ? nexp_rng_range(rng, 10.0, 40.0) : 0.0;
    double kdir = nexp_rng_range(rng, 0.0, M_PI), kmag = nexp_rng_range(rng, 0.15, 0.8);
    for (int c = 0; c < 3; c++) {
        l->stripe_amp[c] = stripes * nexp_rng_range(rng, 0.3, 1.0);
    }
    l->stripe_kx = kmag * cos(kdir);
    l->stripe_ky = kmag * sin(kdir);
    l->stripe_phase = nexp_rng_range(rng, 0.0, 2.0 * M_PI);
    double patches = o->edges && nexp_rng_uniform(rng) < 0.5 ? 1.0 : 0.0;
    for (int c = 0; c < 3; c++) {
        l->patch_amp[c] = patches != 0.0 ? nexp_rng_range(rng, -110.0, 110.0) : 0.0;
    }
    l->patch_freq = patches != 0.0 ? nexp_rng_range(rng, 1.5, 6.0) / size : 0.0;
    l->noise_seed = nexp_rng_u64(rng);
    l->mx = l->cx;
    l->my = l->cy;
    double tscale = background ? 0.5 : 1.0;
    l->tx = tscale * nexp_rng_range(rng, -o->max_translation, o->max_translation);
    l->ty = tscale * nexp_rng_range(rng, -o->max_translation, o->max_translation);
    double d = o->max_deformation * tscale;
    double ang = nexp_rng_range(rng, -d, d), sc = nexp_rng_range(rng, -d, d);
    double sh1 = nexp_rng_range(rng, -d, d) * 0.5, sh2 = nexp_rng_range(rng, -d, d) * 0.5;
    l->m[0][0] = sc + sh1;
    l->m[0][1] = -ang + sh2;
    l->m[1][0] = ang + sh2;
    l->m[1][1] = sc - sh1;
    double a = 1.0 + l->m[0][0], b = l->m[0][1], c = l->m[1][0], e = 1.0 + l->m[1][1];
    double det = a * e - b * c; /* >= (1 - 2d)^2 - d^2 > 0 for d <= 0.3 */
    l->inv[0][0] = e / det;
    l->inv[0][1] = -b / det;
    l->inv[1][0] = -c / det;
    l->inv[1][1] = a / det;
    /* drawn last, and only with photos, so that scenes without them stay the same bit for bit */
    l->photo = NULL;
    if (o->nphotos > 0 && (background || nexp_rng_uniform(rng) < SCENE_PHOTO_LAYER)) {
        l->photo = o->photos[nexp_rng_below(rng, (uint64_t)o->nphotos)];
        double scale = nexp_rng_range(rng, SCENE_PHOTO_SCALE_MIN, SCENE_PHOTO_SCALE_MAX);
        double turn = nexp_rng_range(rng, 0.0, 2.0 * M_PI);
        l->ph_x = nexp_rng_range(rng, 0.0, l->photo->width - 1);
        l->ph_y = nexp_rng_range(rng, 0.0, l->photo->height - 1);
        l->ph_a[0][0] = scale * cos(turn);
        l->ph_a[0][1] = -scale * sin(turn);
        l->ph_a[1][0] = scale * sin(turn);
        l->ph_a[1][1] = scale * cos(turn);
    }
    /* drawn after everything else, and only with thin > 0, for the same reason */
    l->is_bar = 0;
    if (!background && o->thin > 0.0 && nexp_rng_uniform(rng) < o->thin) {
        l->is_bar = 1;
        l->ry = nexp_rng_range(rng, SCENE_BAR_HALF_WIDTH_MIN, SCENE_BAR_HALF_WIDTH_MAX);
        l->tx = nexp_rng_range(rng, -SCENE_BAR_SPEEDUP * o->max_translation, SCENE_BAR_SPEEDUP * o->max_translation);
        l->ty = nexp_rng_range(rng, -SCENE_BAR_SPEEDUP * o->max_translation, SCENE_BAR_SPEEDUP * o->max_translation);
    }
}

void nexp_scene_free(nexp_scene *s)
{
    if (s == NULL) {
        return;
    }
    nexp_field_free(s->frame1);
    nexp_field_free(s->frame2);
    nexp_field_free(s->flow);
    nexp_field_free(s->occlusion);
    free(s);
}

nexp_status nexp_scene_generate(const nexp_scene_options *opt, uint64_t seed, nexp_scene **out, nexp_error *err)
{
    *out = NULL;
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    if (opt != NULL) {
        o = *opt;
    }
    if (o.width < 2 || o.height < 2) {
        return nexp_error_set(err, NEXP_ERR_ARG, "scene size %d x %d: width and height must be at least 2", o.width,
                              o.height);
    }
    if (o.layers < -1 || o.layers > NEXP_SCENE_MAX_LAYERS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "scene layers %d: must be -1 (random) or 0..%d", o.layers,
                              NEXP_SCENE_MAX_LAYERS);
    }
    if (!(o.max_translation >= 0.0 && o.max_translation <= 1e4)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "scene max_translation %g: must be in [0, 1e4] pixels",
                              o.max_translation);
    }
    if (!(o.layer_size > 0.0 && o.layer_size <= 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "scene layer_size %g: must be in (0, 1]", o.layer_size);
    }
    if (!(o.max_deformation >= 0.0 && o.max_deformation <= 0.3)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "scene max_deformation %g: must be in [0, 0.3]", o.max_deformation);
    }
    if (!(o.thin >= 0.0 && o.thin <= 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "scene thin %g: must be in [0, 1]", o.thin);
    }
    if (o.nphotos < 0 || (o.nphotos > 0 && o.photos == NULL)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "scene photos: %d given without a list", o.nphotos);
    }
    for (int i = 0; i < o.nphotos; i++) {
        const nexp_field *p = o.photos[i];
        if (p == NULL || p->channels != 3 || p->width < 2 || p->height < 2) {
            return nexp_error_set(err, NEXP_ERR_ARG, "scene photo %d: must be an RGB image of at least 2 x 2 pixels",
                                  i);
        }
    }
    nexp_status st = nexp_field_check_dims(o.width, o.height, 3, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    int nfg = o.layers >= 0 ? o.layers : 3 + (int)nexp_rng_below(&rng, 6);
    int n = nfg + 1;
    layer layers[NEXP_SCENE_MAX_LAYERS + 1];
    for (int l = 0; l < n; l++) {
        make_layer(&layers[l], &rng, l == 0, o.width, o.height, &o);
        /* a third of the layers move with a layer below them (a decal): colour edges, no motion edge */
        if (o.edges && l > 0 && nexp_rng_uniform(&rng) < SCENE_SHARE_MOTION) {
            share_motion(&layers[l], &layers[nexp_rng_below(&rng, (uint64_t)l)]);
        }
    }
    int blur = o.edges && nexp_rng_uniform(&rng) < SCENE_BLUR;

    nexp_scene *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a scene");
    }
    if ((st = nexp_field_create(&s->frame1, o.width, o.height, 3, err)) != NEXP_OK ||
        (st = nexp_field_create(&s->frame2, o.width, o.height, 3, err)) != NEXP_OK ||
        (st = nexp_field_create(&s->flow, o.width, o.height, 2, err)) != NEXP_OK ||
        (st = nexp_field_create(&s->occlusion, o.width, o.height, 1, err)) != NEXP_OK) {
        nexp_scene_free(s);
        return st;
    }
    s->frame1->kind = NEXP_KIND_IMAGE;
    s->frame1->bit_depth = 8;
    s->frame2->kind = NEXP_KIND_IMAGE;
    s->frame2->bit_depth = 8;
    s->flow->kind = NEXP_KIND_FLOW;
    s->occlusion->kind = NEXP_KIND_MASK;

    const int w = o.width, h = o.height;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            float rgb[3];
            /* frame 1 and the flow: the topmost layer at x */
            int top = 0;
            for (int l = n - 1; l > 0; l--) {
                if (layer_contains(&layers[l], x, y)) {
                    top = l;
                    break;
                }
            }
            layer_color(&layers[top], x, y, rgb);
            for (int c = 0; c < 3; c++) {
                nexp_field_row(s->frame1, c, y)[x] = rgb[c];
            }
            double fx, fy, px, py;
            layer_forward(&layers[top], x, y, &fx, &fy);
            nexp_field_row(s->flow, 0, y)[x] = (float)(fx - x);
            nexp_field_row(s->flow, 1, y)[x] = (float)(fy - y);
            int occluded = fx < 0.0 || fy < 0.0 || fx > w - 1 || fy > h - 1 ||
                           top_layer_frame2(layers, n, fx, fy, &px, &py) != top;
            nexp_field_row(s->occlusion, 0, y)[x] = occluded ? 1.0f : 0.0f;
            /* frame 2 by backward warping: the texture at the pre-image of x */
            int l2 = top_layer_frame2(layers, n, x, y, &px, &py);
            layer_color(&layers[l2], px, py, rgb);
            for (int c = 0; c < 3; c++) {
                nexp_field_row(s->frame2, c, y)[x] = rgb[c];
            }
        }
    }
    if (blur && ((st = blur_field(s->frame1, err)) != NEXP_OK || (st = blur_field(s->frame2, err)) != NEXP_OK)) {
        nexp_scene_free(s);
        return st;
    }
    *out = s;
    return NEXP_OK;
}
