"""How visits reach the shop, as data: campaigns, click ids, referrers and channel mixes.

Each :class:`Arrival` is what a browser tracker records for one way in: the referrer (one of
a few weighted options) and the query string of the landing URL (UTM tags; a click id or a
referral code is appended where ``slot`` says so). ``channel`` is what the ingest's channel
rules should make of it; the generator never writes it.

>>> ARRIVALS["summer_blowout_facebook"].query.split("&")[2]
'utm_campaign=summer_blowout'
>>> round(sum(share for _, share, *_ in ACQUISITION), 6)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

NO_SLOT, CLICK_ID, REF_CODE = range(3)


@dataclass(frozen=True)
class Arrival:
    """How a visit reaches the site, as a browser tracker sees it: referrer and landing query."""

    channel: str  # what the channel rules should call it (documentation and tests only)
    referrers: tuple[tuple[str | None, float], ...] = ((None, 1.0),)
    query: str = ""  # landing URL query string without '?'; the click id or referral code follows it
    slot: int = NO_SLOT
    landing: str | None = None  # fixed landing step, else the session's first browsing step


_GOOGLE = (("https://www.google.com/", 1.0),)
_MAIL = (("https://mail.google.com/", 0.45), ("https://outlook.live.com/", 0.15), (None, 0.40))
_FB_ADS = (("https://l.facebook.com/", 0.6), ("https://m.facebook.com/", 0.4))
_IG_ADS = (("https://l.instagram.com/", 1.0),)


def _email(campaign: str, landing: str | None = None) -> Arrival:
    return Arrival("email", _MAIL, f"utm_source=newsletter&utm_medium=email&utm_campaign={campaign}", landing=landing)


ARRIVALS: dict[str, Arrival] = {
    "direct": Arrival("direct"),
    "direct_home": Arrival("direct", landing="home"),
    "app": Arrival("app"),
    # paid search: auto-tagged click ids plus manual UTM tagging
    "google_ads_tents": Arrival("paid_search", _GOOGLE, "utm_source=google&utm_medium=cpc&utm_campaign=tents_nonbrand"
                                "&utm_term=backpacking+tent&gclid=Cj0KCQjw", CLICK_ID),
    "google_ads_boots": Arrival("paid_search", _GOOGLE, "utm_source=google&utm_medium=cpc&utm_campaign=boots_nonbrand"
                                "&utm_term=waterproof+hiking+boots&gclid=Cj0KCQjw", CLICK_ID),
    "google_ads_brand": Arrival("paid_search", _GOOGLE, "utm_source=google&utm_medium=cpc&utm_campaign=brand"
                                "&utm_term=trailhead+outfitters&gclid=Cj0KCQjw", CLICK_ID),
    "bing_ads": Arrival("paid_search", (("https://www.bing.com/", 1.0),), "utm_source=bing&utm_medium=cpc"
                        "&utm_campaign=tents_nonbrand&utm_term=camping+tent&msclkid=", CLICK_ID),
    # organic search: a search engine referrer, no tagging
    "google_organic": Arrival("organic_search", _GOOGLE),
    "bing_organic": Arrival("organic_search", (("https://www.bing.com/", 1.0),)),
    "duckduckgo_organic": Arrival("organic_search", (("https://duckduckgo.com/", 1.0),)),
    "yahoo_organic": Arrival("organic_search", (("https://search.yahoo.com/", 1.0),)),
    # paid social
    "facebook_ads": Arrival("paid_social", _FB_ADS, "utm_source=facebook&utm_medium=paid_social"
                            "&utm_campaign=spring_trail_collection&utm_content=carousel&fbclid=IwAR", CLICK_ID),
    "instagram_ads": Arrival("paid_social", _IG_ADS, "utm_source=instagram&utm_medium=paid_social"
                             "&utm_campaign=spring_trail_collection&utm_content=reel&fbclid=IwAR", CLICK_ID),
    "tiktok_ads": Arrival("paid_social", (("https://www.tiktok.com/", 1.0),), "utm_source=tiktok"
                          "&utm_medium=paid_social&utm_campaign=trail_creators&ttclid=", CLICK_ID),
    "linkedin_ads": Arrival("paid_social", (("https://www.linkedin.com/", 1.0),), "utm_source=linkedin"
                            "&utm_medium=paid_social&utm_campaign=team_offsites&li_fat_id=", CLICK_ID),
    "facebook_retargeting": Arrival("paid_social", _FB_ADS, "utm_source=facebook&utm_medium=paid_social"
                                    "&utm_campaign=dpa_retargeting&fbclid=IwAR", CLICK_ID),
    # the planted campaign: lots of traffic, no buyers
    "summer_blowout_facebook": Arrival("paid_social", _FB_ADS, "utm_source=facebook&utm_medium=paid_social"
                                       "&utm_campaign=summer_blowout&utm_content=video_30s&fbclid=IwAR",
                                       CLICK_ID, landing="sale_summer"),
    "summer_blowout_instagram": Arrival("paid_social", _IG_ADS, "utm_source=instagram&utm_medium=paid_social"
                                        "&utm_campaign=summer_blowout&utm_content=story&fbclid=IwAR",
                                        CLICK_ID, landing="sale_summer"),
    # organic social: a social referrer, no tagging
    "facebook_organic": Arrival("organic_social", (("https://m.facebook.com/", 0.5), ("https://www.facebook.com/", 0.5))),
    "instagram_organic": Arrival("organic_social", (("https://www.instagram.com/", 1.0),)),
    "reddit_organic": Arrival("organic_social", (("https://www.reddit.com/", 1.0),)),
    "pinterest_organic": Arrival("organic_social", (("https://www.pinterest.com/", 1.0),)),
    "x_organic": Arrival("organic_social", (("https://t.co/", 1.0),)),
    # email
    "newsletter": _email("weekly_trail_digest"),
    "email_abandoned_cart": _email("abandoned_cart"),
    "email_order_shipped": _email("order_shipped", landing="orders"),
    "email_loyalty": _email("rewards_update", landing="loyalty"),
    "email_winback": _email("winback_60d"),
    "email_review_request": _email("review_request"),
    "email_nps": _email("nps_survey"),
    # referral: other sites, and the refer-a-friend programme
    "gearlab_referral": Arrival("referral", (("https://www.outdoorgearlab.example/topics/camping/best-tent", 1.0),)),
    "forum_referral": Arrival("referral", (("https://www.trailforums.example/t/which-tent-for-the-jmt/4821", 1.0),)),
    "blog_referral": Arrival("referral", (("https://www.switchbackhiking.example/gear-guide/", 1.0),)),
    "refer_a_friend": Arrival("referral", ((None, 0.7), ("https://mail.google.com/", 0.3)),
                              "utm_source=refer_a_friend&utm_medium=referral&utm_campaign=refer_a_friend&ref=",
                              REF_CODE, landing="refer_welcome"),
    # display
    "google_display": Arrival("display", (("https://tpc.googlesyndication.com/", 0.6),
                                          ("https://www.weatherwatch.example/forecast", 0.4)),
                              "utm_source=google_display&utm_medium=display&utm_campaign=prospecting_outdoor"),
    "criteo_retargeting": Arrival("display", (("https://www.newsdaily.example/", 1.0),),
                                  "utm_source=criteo&utm_medium=cpm&utm_campaign=retargeting"),
    # affiliate
    "awin_affiliate": Arrival("affiliate", (("https://www.dealhunter.example/outdoor-deals", 1.0),),
                              "utm_source=awin&utm_medium=affiliate&utm_campaign=dealhunter&awc=", CLICK_ID),
    "impact_affiliate": Arrival("affiliate", (("https://www.campingcoupons.example/", 1.0),),
                                "utm_source=impact&utm_medium=affiliate&utm_campaign=campingcoupons"),
    # video
    "youtube_organic": Arrival("video", (("https://www.youtube.com/", 1.0),)),
    "youtube_ads": Arrival("video", (("https://www.youtube.com/", 1.0),),
                           "utm_source=youtube&utm_medium=video&utm_campaign=trail_stories"),
}
ARRIVAL_NAMES: tuple[str, ...] = tuple(ARRIVALS)

#: First visits: arrival, share of customers, entry stage (0 awareness, 1 consideration),
#: quality (multiplies the chances to move on) and share of mobile primary devices.
ACQUISITION: tuple[tuple[str, float, int, float, float], ...] = (
    ("google_ads_tents", 0.05, 1, 1.3, 0.50), ("google_ads_boots", 0.03, 1, 1.3, 0.50),
    ("google_ads_brand", 0.03, 1, 1.5, 0.45), ("bing_ads", 0.03, 1, 1.2, 0.25),
    ("google_organic", 0.17, 0, 1.1, 0.55), ("bing_organic", 0.015, 0, 1.1, 0.30),
    ("duckduckgo_organic", 0.01, 0, 1.1, 0.40), ("yahoo_organic", 0.005, 0, 1.0, 0.35),
    ("facebook_ads", 0.025, 0, 1.0, 0.75), ("instagram_ads", 0.015, 0, 1.0, 0.85),
    ("tiktok_ads", 0.012, 0, 0.9, 0.90), ("linkedin_ads", 0.008, 0, 1.0, 0.30),
    ("summer_blowout_facebook", 0.08, 0, 0.4, 0.80), ("summer_blowout_instagram", 0.07, 0, 0.4, 0.85),
    ("facebook_organic", 0.015, 0, 0.8, 0.75), ("instagram_organic", 0.015, 0, 0.8, 0.85),
    ("reddit_organic", 0.015, 0, 1.0, 0.60), ("pinterest_organic", 0.01, 0, 0.8, 0.70),
    ("x_organic", 0.005, 0, 0.8, 0.70),
    ("newsletter", 0.03, 1, 1.2, 0.45),
    ("gearlab_referral", 0.03, 1, 1.3, 0.40), ("forum_referral", 0.02, 1, 1.2, 0.45),
    ("blog_referral", 0.02, 1, 1.2, 0.45),
    ("refer_a_friend", 0.004, 1, 1.6, 0.60),
    ("google_display", 0.03, 0, 0.8, 0.60), ("criteo_retargeting", 0.02, 0, 0.8, 0.55),
    ("awin_affiliate", 0.02, 1, 1.4, 0.50), ("impact_affiliate", 0.02, 1, 1.4, 0.50),
    ("youtube_organic", 0.025, 0, 0.9, 0.60), ("youtube_ads", 0.015, 0, 0.9, 0.65),
    ("direct_home", 0.156, 0, 1.2, 0.45),
)
SUMMER_BLOWOUT = ("summer_blowout_facebook", "summer_blowout_instagram")

#: Return visits: arrival mix per mix name (email arrivals need a known email address first).
RETURN_MIXES: dict[str, tuple[tuple[str, float], ...]] = {
    "return": (("direct", 0.30), ("google_organic", 0.20), ("bing_organic", 0.02), ("google_ads_brand", 0.10),
               ("newsletter", 0.15), ("facebook_organic", 0.03), ("instagram_organic", 0.02),
               ("criteo_retargeting", 0.08), ("facebook_retargeting", 0.06), ("youtube_organic", 0.02),
               ("reddit_organic", 0.02)),
    "retry": (("email_abandoned_cart", 0.5), ("direct", 0.5)),
    "post": (("direct", 0.35), ("newsletter", 0.15), ("google_organic", 0.15), ("google_ads_brand", 0.07),
             ("facebook_organic", 0.05), ("email_loyalty", 0.10), ("email_order_shipped", 0.13)),
    "support": (("direct", 0.6), ("google_organic", 0.25), ("email_order_shipped", 0.15)),
    "refer": (("direct", 0.5), ("email_loyalty", 0.5)),
    "review": (("email_review_request", 1.0),),
    "nps": (("email_nps", 1.0),),
    "winback": (("email_winback", 1.0),),
    "app": (("app", 1.0),),
}
MIX_NAMES: tuple[str, ...] = tuple(RETURN_MIXES)
