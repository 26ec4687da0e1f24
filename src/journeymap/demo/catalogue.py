"""What the demo shop is made of, as data: pages, products, steps, campaigns and referrers.

The fictional retailer is *Trailhead Outfitters* (``https://www.trailhead-outfitters.example``,
app ``app://trailhead``). A session is a landing *step*, optionally a login step, a few
browsing steps drawn from the pool of its journey stage, and *tail* steps (the actions that
end it: signup, add to cart, checkout, review...). A step is one page or screen view, maybe
followed by track/identify events on that page. :func:`compile_catalogue` turns the tables
below into the numpy arrays the vectorised generator indexes.

>>> cat = compile_catalogue()
>>> cat.page_url[cat.page_index["guide"]].as_py()
'https://www.trailhead-outfitters.example/guides/choosing-the-right-tent'
>>> [cat.event_names[i] for i in cat.ev_name[cat.step_range("product:summit-2p-ultralight-tent")]]
['page_view', 'product_viewed']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from .campaigns import (ACQUISITION, ARRIVAL_NAMES, ARRIVALS, CLICK_ID, MIX_NAMES, NO_SLOT, REF_CODE,
                        RETURN_MIXES, SUMMER_BLOWOUT, Arrival)

__all__ = ["ACQUISITION", "ARRIVALS", "ARRIVAL_NAMES", "Arrival", "CLICK_ID", "Catalogue", "MIX_NAMES", "NO_SLOT",
           "PRODUCTS", "REF_CODE", "RETURN_MIXES", "SUMMER_BLOWOUT", "compile_catalogue", "draw"]

SITE = "https://www.trailhead-outfitters.example"
APP = "app://trailhead"

# --------------------------------------------------------------------------- products


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    category: str
    price: float
    weight: float  # how often it is the thing a shopper is after


PRODUCTS: tuple[Product, ...] = (
    Product("summit-2p-ultralight-tent", "Summit 2P Ultralight Tent", "tents", 299.0, 2.0),
    Product("basecamp-4p-family-tent", "Basecamp 4P Family Tent", "tents", 249.0, 1.5),
    Product("ridgeline-1p-bivy", "Ridgeline 1P Bivy", "tents", 159.0, 1.0),
    Product("alpine-20-down-sleeping-bag", "Alpine 20 Down Sleeping Bag", "sleeping-bags", 199.0, 1.0),
    Product("meadow-40-synthetic-bag", "Meadow 40 Synthetic Sleeping Bag", "sleeping-bags", 79.0, 1.5),
    Product("cloudrest-sleeping-pad", "CloudRest Insulated Sleeping Pad", "sleeping-bags", 99.0, 1.2),
    Product("trailblazer-45l-backpack", "Trailblazer 45L Backpack", "backpacks", 149.0, 1.5),
    Product("summit-22l-daypack", "Summit 22L Daypack", "backpacks", 59.0, 2.5),
    Product("granite-peak-waterproof-boot", "Granite Peak Waterproof Boot", "hiking-boots", 139.0, 2.5),
    Product("switchback-trail-runner", "Switchback Trail Runner", "hiking-boots", 109.0, 2.5),
    Product("stormshell-rain-jacket", "StormShell Rain Jacket", "rain-jackets", 119.0, 2.5),
    Product("featherlight-wind-shell", "Featherlight Wind Shell", "rain-jackets", 69.0, 2.0),
    Product("pocket-rocket-stove", "Pocket Rocket Stove", "camp-kitchen", 45.0, 1.5),
    Product("titanium-cook-set", "Titanium Cook Set", "camp-kitchen", 49.0, 1.2),
    Product("insulated-trail-bottle", "Insulated Trail Bottle", "camp-kitchen", 25.0, 2.5),
    Product("carbon-trekking-poles", "Carbon Trekking Poles", "accessories", 89.0, 1.5),
    Product("beacon-400-headlamp", "Beacon 400 Headlamp", "accessories", 35.0, 2.5),
)
TENTS = tuple(i for i, p in enumerate(PRODUCTS) if p.category == "tents")

# --------------------------------------------------------------------------- pages

#: key -> (path, title). App screens have paths under app://trailhead.
PAGES: dict[str, tuple[str, str]] = {
    "home": ("/", "Trailhead Outfitters | Gear for every trail"),
    # awareness: blog articles and guides
    "blog_backpacking": ("/blog/beginners-guide-to-backpacking", "A beginner's guide to backpacking"),
    "blog_campsites": ("/blog/best-national-park-campsites", "12 national park campsites worth the drive"),
    "blog_waterproof": ("/blog/how-to-waterproof-your-boots", "How to waterproof your hiking boots"),
    "blog_lnt": ("/blog/leave-no-trace-principles", "The 7 Leave No Trace principles, explained"),
    "blog_packing": ("/blog/weekend-camping-packing-list", "What to pack for a weekend camping trip"),
    "blog_runners": ("/blog/trail-runners-vs-hiking-boots", "Trail runners vs hiking boots: which do you need?"),
    "blog_thru": ("/blog/our-first-thru-hike", "Stories from our first thru-hike"),
    "guide_layering": ("/guides/layering-for-cold-weather", "How to layer for cold weather"),
    "guide_checklist": ("/guides/backpacking-checklist", "The complete backpacking checklist"),
    "guide_sleeping_bag": ("/guides/choosing-a-sleeping-bag", "How to choose a sleeping bag"),
    "sale_summer": ("/sale/summer-blowout", "Summer Blowout | up to 70% off"),
    "refer_welcome": ("/refer/welcome", "A gift from your friend: 15% off your first order"),
    # consideration: categories, comparisons, reviews, and the planted guide
    "shop_tents": ("/shop/tents", "Tents"),
    "shop_bags": ("/shop/sleeping-bags", "Sleeping bags & pads"),
    "shop_packs": ("/shop/backpacks", "Backpacks"),
    "shop_boots": ("/shop/hiking-boots", "Hiking boots & shoes"),
    "shop_jackets": ("/shop/rain-jackets", "Rain jackets"),
    "shop_kitchen": ("/shop/camp-kitchen", "Camp kitchen"),
    "shop_accessories": ("/shop/accessories", "Accessories"),
    "compare_tents": ("/compare/ultralight-tents", "Compare ultralight tents"),
    "compare_boots": ("/compare/hiking-boots", "Compare hiking boots"),
    "compare_bags": ("/compare/sleeping-bags", "Compare sleeping bags"),
    "reviews_tents": ("/reviews/tents", "Tent reviews"),
    "reviews_packs": ("/reviews/backpacks", "Backpack reviews"),
    "reviews_boots": ("/reviews/hiking-boots", "Hiking boot reviews"),
    "guide": ("/guides/choosing-the-right-tent", "How to choose the right tent"),
    # decision
    "size_guide": ("/size-guide", "Size guide"),
    "pricing": ("/pricing", "Pricing & price-match promise"),
    "stores": ("/stores", "Store locator"),
    "shipping": ("/shipping-and-returns", "Shipping & returns"),
    "book_fitting": ("/book-fitting", "Book a free boot & pack fitting"),
    # purchase
    "cart": ("/cart", "Your cart"),
    "checkout": ("/checkout", "Checkout"),
    "payment": ("/checkout/payment", "Checkout | payment"),
    "confirmation": ("/checkout/confirmation", "Order confirmed"),
    # account and retention
    "login": ("/account/login", "Sign in"),
    "signup_page": ("/account/signup", "Create your account"),
    "account": ("/account", "Your account"),
    "orders": ("/account/orders", "Your orders"),
    "loyalty": ("/loyalty", "Trailhead Rewards"),
    "help_returns": ("/help/returns", "Returns & exchanges"),
    "help_shipping": ("/help/shipping", "Shipping & delivery"),
    "help_warranty": ("/help/warranty", "Warranty & repairs"),
    "help_care": ("/help/care-instructions", "Caring for your gear"),
    "help_contact": ("/help/contact", "Contact us"),
    # advocacy
    "review_write": ("/reviews/write", "Write a review"),
    "refer": ("/refer", "Refer a friend: give $20, get $20"),
    "nps_survey": ("/survey/nps", "How likely are you to recommend us?"),
    # app screens
    "app_home": ("app:/home", "Home"),
    "app_shop": ("app:/shop", "Shop"),
    "app_product": ("app:/product", "Product"),
    "app_orders": ("app:/orders", "Orders"),
    "app_tracking": ("app:/orders/tracking", "Track order"),
    "app_loyalty": ("app:/rewards", "Rewards"),
    "app_help": ("app:/help", "Help"),
    "app_sign_in": ("app:/sign-in", "Sign In"),
}
for _p in PRODUCTS:
    PAGES["product:" + _p.slug] = ("/products/" + _p.slug, f"{_p.name} | Trailhead Outfitters")

# --------------------------------------------------------------------------- steps and parts

#: Event template kinds.
PAGE, SCREEN, TRACK, IDENTIFY_USER, IDENTIFY_EMAIL = range(5)
#: Property kinds (what goes into ``properties`` besides ``device``).
(P_NONE, P_PRODUCT, P_ORDER, P_ERROR, P_REVIEW, P_NPS, P_REFERRAL, P_TOPIC,
 P_NEWSLETTER, P_SIGNUP, P_LOGIN, P_FITTING) = range(12)


def _page(key: str) -> tuple:
    return (SCREEN if key.startswith("app_") else PAGE, key, P_NONE)


STEPS: dict[str, list[tuple]] = {key: [_page(key)] for key in PAGES if not key.startswith("product:")}
for _i, _p in enumerate(PRODUCTS):
    STEPS["product:" + _p.slug] = [_page("product:" + _p.slug), (TRACK, "product_viewed", P_PRODUCT)]
STEPS["app_product"] = [_page("app_product"), (TRACK, "product_viewed", P_PRODUCT)]
STEPS["login_web"] = [_page("login"), (IDENTIFY_USER, None, P_LOGIN)]
STEPS["login_app"] = [_page("app_sign_in"), (IDENTIFY_USER, None, P_LOGIN)]

#: Tail parts, in the order they appear in a session; a session's tail is a bit mask over them.
TAIL_PARTS: dict[str, list[list[tuple]]] = {
    "guide": [[_page("guide")]],
    "newsletter": [[(TRACK, "newsletter_signup", P_NEWSLETTER), (IDENTIFY_EMAIL, None, P_NEWSLETTER)]],
    "signup": [[_page("signup_page"), (TRACK, "signup", P_SIGNUP)]],
    # back on the product page before adding it (its page is filled in per visit)
    "product_again": [[_page("home")]],
    "add_to_cart": [[(TRACK, "add_to_cart", P_PRODUCT)]],
    "fitting": [[_page("book_fitting"), (TRACK, "fitting_booked", P_FITTING)]],
    "checkout": [[_page("cart")], [_page("checkout"), (TRACK, "checkout_started", P_PRODUCT)]],
    "identify": [[(IDENTIFY_USER, None, P_SIGNUP)]],
    "order_completed": [[_page("payment")], [_page("confirmation"), (TRACK, "order_completed", P_ORDER)]],
    "payment_timeout": [[_page("payment"), (TRACK, "checkout_error", P_ERROR)]],
    "card_declined": [[_page("payment"), (TRACK, "checkout_error", P_ERROR)]],
    "abandoned": [[_page("payment")]],
    "review": [[_page("review_write"), (TRACK, "review_submitted", P_REVIEW)]],
    "nps": [[_page("nps_survey"), (TRACK, "nps_submitted", P_NPS)]],
    "refer": [[_page("refer"), (TRACK, "referral_sent", P_REFERRAL)]],
    "support_chat": [[_page("help_contact"), (TRACK, "support_chat_started", P_TOPIC)]],
    "support_ticket": [[_page("help_contact"), (TRACK, "support_ticket_created", P_TOPIC)]],
    "app_support_chat": [[_page("app_help"), (TRACK, "support_chat_started", P_TOPIC)]],
}
PART_BIT: dict[str, int] = {name: 1 << i for i, name in enumerate(TAIL_PARTS)}
for _name, _steps in TAIL_PARTS.items():
    for _j, _events in enumerate(_steps):
        STEPS[f"part:{_name}:{_j}"] = _events

#: Browsing pools: the pages a session of each kind wanders through, with weights.
POOLS: dict[str, list[tuple[str, float]]] = {
    "awareness": [("home", 2.0), ("blog_backpacking", 2.0), ("blog_campsites", 1.5), ("blog_waterproof", 1.0),
                  ("blog_lnt", 0.7), ("blog_packing", 1.5), ("blog_runners", 1.2), ("blog_thru", 0.8),
                  ("guide_layering", 1.0), ("guide_checklist", 1.2), ("guide_sleeping_bag", 0.8)],
    "consideration": [("shop_tents", 2.0), ("shop_bags", 1.2), ("shop_packs", 1.5), ("shop_boots", 2.0),
                      ("shop_jackets", 1.3), ("shop_kitchen", 0.8), ("shop_accessories", 0.6),
                      ("compare_tents", 1.0), ("compare_boots", 1.0), ("compare_bags", 0.6),
                      ("reviews_tents", 0.9), ("reviews_packs", 0.6), ("reviews_boots", 0.8)],
    "decision": [("product:" + p.slug, p.weight) for p in PRODUCTS]
    + [("size_guide", 1.5), ("pricing", 1.2), ("stores", 1.0), ("shipping", 1.5)],
    "retention": [("orders", 3.0), ("account", 1.5), ("loyalty", 2.0), ("help_returns", 1.0),
                  ("help_shipping", 1.0), ("help_warranty", 0.5), ("help_care", 0.8), ("blog_thru", 0.5),
                  ("blog_campsites", 0.5), ("shop_tents", 0.4), ("shop_boots", 0.4), ("shop_jackets", 0.4)],
    "support": [("help_returns", 2.0), ("help_shipping", 2.0), ("help_warranty", 1.0), ("orders", 1.0)],
    "app": [("app_home", 3.0), ("app_shop", 2.0), ("app_product", 2.0), ("app_orders", 1.5),
            ("app_tracking", 1.0), ("app_loyalty", 1.5)],
}
POOL_NAMES: tuple[str, ...] = tuple(POOLS)

# --------------------------------------------------------------------------- texts and people

REVIEW_TEXTS: dict[int, tuple[str, ...]] = {
    5: ("Absolutely love it, held up perfectly on a five-day trek.", "Great quality and worth every penny.",
        "Light, sturdy and exactly as described. Would buy again."),
    4: ("Very good overall, a bit pricey but solid.", "Works well; sizing runs slightly small.",
        "Happy with it. Delivery took a few extra days."),
    3: ("It's okay. Does the job but nothing special.", "Decent, but the zipper feels flimsy.",
        "Average. Expected more for the price."),
    2: ("Disappointed: it started leaking after two trips.", "Not as described and the fit is off.",
        "Checkout kept failing on my phone and the product was mediocre."),
    1: ("Fell apart on the first trip. Returning it.", "Terrible quality and slow support.",
        "Never again: broken on arrival and no reply from support."),
}
SUPPORT_TOPICS = ("order_status", "returns", "sizing", "warranty", "payment_problem", "delivery_delay")
CHECKOUT_ERRORS = ("payment_form_timeout", "card_declined")
STORES = ("Denver Flagship", "Boulder Pearl Street", "Seattle Ballard", "Portland Pearl District", "Salt Lake City")
FIRST_NAMES = ("james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david",
               "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
               "carlos", "maria", "wei", "mei", "arjun", "priya", "olga", "ivan", "fatima", "omar",
               "kenji", "yuki", "lucas", "emma", "noah", "olivia", "liam", "ava", "mateo", "sofia")
LAST_NAMES = ("smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
              "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
              "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
              "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
              "scott", "nguyen", "chen", "patel", "kim", "novak", "okafor", "schmidt", "rossi")
EMAIL_DOMAINS = ("example.com", "example.org")
DEVICES = ("desktop", "mobile", "tablet")
DESKTOP, MOBILE, TABLET = range(3)


# --------------------------------------------------------------------------- compiled form

@dataclass
class Catalogue:
    """Numpy/Arrow arrays over the tables above, indexed by the generator."""

    page_keys: list[str]
    page_index: dict[str, int]
    page_url: pa.StringArray  # full URL without query
    page_title: pa.StringArray
    step_keys: list[str]
    step_index: dict[str, int]
    step_start: np.ndarray  # first event template of each step
    step_len: np.ndarray
    step_product: np.ndarray  # product of a product step, else -1
    event_names: list[str]
    ev_kind: np.ndarray
    ev_name: np.ndarray
    ev_page: np.ndarray  # page of page/screen templates, else -1
    ev_props: np.ndarray
    pool_steps: np.ndarray  # concatenated pools
    pool_cum: np.ndarray  # cumulative weights, each pool normalised to 1 and offset by its index
    arrival_query: pa.StringArray  # '?query' or '' per arrival
    arrival_slot: np.ndarray
    arrival_landing: np.ndarray  # step or -1
    referrer_url: pa.StringArray  # concatenated referrer options (null = none)
    referrer_lo: np.ndarray
    referrer_cum: np.ndarray  # like pool_cum, per arrival
    mix_arrivals: np.ndarray
    mix_cum: np.ndarray  # like pool_cum, per return mix
    mix_email: np.ndarray  # arrival of each mix entry is an email arrival
    product_price: np.ndarray
    product_weight: np.ndarray
    part_steps: tuple[int, ...]  # the steps of every tail part, in TAIL_PARTS order

    def step_range(self, key: str) -> np.ndarray:
        """Event template indices of one step."""
        s = self.step_index[key]
        return np.arange(self.step_start[s], self.step_start[s] + self.step_len[s])

    def tail(self, mask: int) -> tuple[int, ...]:
        """The steps of the tail with part bit mask ``mask``."""
        return _tail_steps(mask, self.part_steps)


@lru_cache(maxsize=None)
def _tail_steps(mask: int, part_steps: tuple[int, ...]) -> tuple[int, ...]:
    out: list[int] = []
    k = 0
    for i, name in enumerate(TAIL_PARTS):
        n = len(TAIL_PARTS[name])
        if mask >> i & 1:
            out.extend(part_steps[k:k + n])
        k += n
    return tuple(out)


def _cumulative(groups: list[list[float]]) -> np.ndarray:
    """Weights of several groups -> one increasing array: group g spans (g, g + 1]."""
    out = []
    for g, weights in enumerate(groups):
        w = np.asarray(weights, dtype=float)
        out.append(g + np.cumsum(w) / w.sum())
    cum = np.concatenate(out)
    for g in range(len(groups)):  # guard against rounding: each group ends exactly at g + 1
        cum[np.searchsorted(cum, g + 1 - 1e-9)] = g + 1
    return cum


@lru_cache(maxsize=1)
def compile_catalogue() -> Catalogue:
    page_keys = list(PAGES)
    page_index = {k: i for i, k in enumerate(page_keys)}
    urls = [APP + path[4:] if path.startswith("app:") else SITE + path for path, _ in PAGES.values()]
    step_keys = list(STEPS)
    step_index = {k: i for i, k in enumerate(step_keys)}
    event_names = ["page_view", "screen_view", "identify"]
    kinds, names, pages, props, starts, lens, products = [], [], [], [], [], [], []
    slug_index = {"product:" + p.slug: i for i, p in enumerate(PRODUCTS)}
    for key in step_keys:
        starts.append(len(kinds))
        lens.append(len(STEPS[key]))
        products.append(slug_index.get(key, -1))
        for kind, name, prop in STEPS[key]:
            kinds.append(kind)
            props.append(prop)
            pages.append(page_index[name] if kind in (PAGE, SCREEN) else -1)
            if kind == PAGE:
                names.append(0)
            elif kind == SCREEN:
                names.append(1)
            elif kind in (IDENTIFY_USER, IDENTIFY_EMAIL):
                names.append(2)
            else:
                if name not in event_names:
                    event_names.append(name)
                names.append(event_names.index(name))
    pool_steps = np.array([step_index[k] for n in POOL_NAMES for k, _ in POOLS[n]], dtype=np.int32)
    pool_cum = _cumulative([[w for _, w in POOLS[n]] for n in POOL_NAMES])
    ref_urls, ref_lo, ref_groups = [], [], []
    for name in ARRIVAL_NAMES:
        ref_lo.append(len(ref_urls))
        ref_urls.extend(u for u, _ in ARRIVALS[name].referrers)
        ref_groups.append([w for _, w in ARRIVALS[name].referrers])
    mix_arrivals = np.array([ARRIVAL_NAMES.index(a) for m in MIX_NAMES for a, _ in RETURN_MIXES[m]], dtype=np.int32)
    return Catalogue(
        page_keys=page_keys, page_index=page_index,
        page_url=pa.array(urls, pa.string()), page_title=pa.array([t for _, t in PAGES.values()], pa.string()),
        step_keys=step_keys, step_index=step_index,
        step_start=np.array(starts, dtype=np.int32), step_len=np.array(lens, dtype=np.int32),
        step_product=np.array(products, dtype=np.int32),
        event_names=event_names,
        ev_kind=np.array(kinds, dtype=np.int8), ev_name=np.array(names, dtype=np.int16),
        ev_page=np.array(pages, dtype=np.int32), ev_props=np.array(props, dtype=np.int8),
        pool_steps=pool_steps, pool_cum=pool_cum,
        arrival_query=pa.array([("?" + ARRIVALS[n].query) if ARRIVALS[n].query else "" for n in ARRIVAL_NAMES],
                               pa.string()),
        arrival_slot=np.array([ARRIVALS[n].slot for n in ARRIVAL_NAMES], dtype=np.int8),
        arrival_landing=np.array([step_index[ARRIVALS[n].landing] if ARRIVALS[n].landing else -1
                                  for n in ARRIVAL_NAMES], dtype=np.int32),
        referrer_url=pa.array(ref_urls, pa.string()), referrer_lo=np.array(ref_lo, dtype=np.int32),
        referrer_cum=_cumulative(ref_groups),
        mix_arrivals=mix_arrivals,
        mix_cum=_cumulative([[w for _, w in RETURN_MIXES[m]] for m in MIX_NAMES]),
        mix_email=np.array([ARRIVALS[ARRIVAL_NAMES[a]].channel == "email" for a in mix_arrivals]),
        product_price=np.array([p.price for p in PRODUCTS]),
        product_weight=np.array([p.weight for p in PRODUCTS]) / sum(p.weight for p in PRODUCTS),
        part_steps=tuple(step_index[f"part:{n}:{j}"] for n in TAIL_PARTS for j in range(len(TAIL_PARTS[n]))),
    )


def draw(cum: np.ndarray, group: np.ndarray | int, u: np.ndarray) -> np.ndarray:
    """Weighted draw within groups: index into the concatenated options of ``cum``.

    >>> draw(np.array([0.5, 1.0, 2.0]), np.array([0, 0, 1]), np.array([0.2, 0.7, 0.1]))
    array([0, 1, 2])
    """
    idx = np.searchsorted(cum, group + u, side="right")
    return np.minimum(idx, len(cum) - 1)
