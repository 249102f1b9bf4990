package dev.conduit.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.conduit.noise.KeyPair;
import dev.conduit.simulate.SimulatedClient;
import dev.conduit.simulate.SimulatedInstance;
import dev.conduit.testing.EdgeApi;
import dev.conduit.testing.TestDatabase;
import dev.conduit.testing.TestDestination;
import dev.conduit.testing.TestHub;
import dev.conduit.testing.TestServer;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (Debian's chromium, driven through chromedriver by Selenium) against a
 * real relay, a real hub over gRPC, a real destination and real HTTP ingest. One browser for the class;
 * the steps run in order and build on each other, as an operator would use the page. Every wait is a
 * condition with a generous deadline, never a sleep. Screenshots of each page go to
 * {@code -Dconduit.screenshots.dir} (docs/screenshots for the README), else target/screenshots.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardBrowserTest {
  static final String CHROMEDRIVER = "/usr/bin/chromedriver";
  static final String CHROMIUM = "/usr/bin/chromium";
  static final String TOKEN = "dashboard-browser-token";
  static final Duration WAIT = Duration.ofSeconds(30);
  static final String MANAGER_LOGGER = "org.openqa.selenium.manager";
  static final String FINDER_LOGGER = "org.openqa.selenium.remote.service.DriverFinder";
  /** More than any page has controls: the tab order is walked at most this far to reach one. */
  static final int MAX_TABS = 200;
  /** Chromium's roles for controls a user operates; each must have an accessible name. */
  static final java.util.Set<String> CONTROL_ROLES = java.util.Set.of("button", "link", "textbox", "combobox",
      "listbox", "checkbox", "radio", "searchbox", "spinbutton", "switch", "tab", "menuitem", "slider");

  private TestDatabase database;
  private TestServer server;
  private TestDestination destination;
  private TestHub hub;
  private SimulatedInstance instance;
  private ChromeDriver browser;
  private WebDriverWait wait;
  private EdgeApi api;
  private Path userDataDir;
  private Path screenshots;
  private String endpointId;
  private String webhookId;
  private final AtomicInteger destinationStatus = new AtomicInteger(400);
  private final List<LogRecord> seleniumManagerRecords = new ArrayList<>();
  private final Handler seleniumManagerWatch = recordInto(seleniumManagerRecords);
  private final List<LogRecord> driverFinderRecords = new ArrayList<>();
  private final Handler driverFinderWatch = recordInto(driverFinderRecords);

  @BeforeAll
  void start() throws Exception {
    assertTrue(new File(CHROMEDRIVER).canExecute(), CHROMEDRIVER + " is missing: apt-get install -y chromium "
        + "chromium-driver (scripts/test checks this, .ci/run installs them)");
    database = TestDatabase.create(TestDatabase.Kind.H2);
    server = TestServer.start(database, ConfigFactory.parseMap(Map.of(
        "conduit.hub.hubs", "home:home-secret,away:away-secret",
        "conduit.webhook.admin-token", TOKEN,
        "conduit.hub.heartbeat-interval", "1s")));
    destination = TestDestination.start(request -> destinationStatus.get());
    hub = TestHub.connect(server.grpcPort(), "home", "home-secret");
    api = new EdgeApi(server.httpBase(), TOKEN);
    endpointId = api.createEndpoint("github-push", destination.url("/hooks/github"), "home");
    instance = SimulatedInstance.start(server.wsBase(), "living-room-server", KeyPair.generate(),
        Duration.ofSeconds(30), WAIT);
    screenshots = Path.of(System.getProperty("conduit.screenshots.dir", "target/screenshots"));
    Files.createDirectories(screenshots);

    // Selenium Manager (which may download drivers and browsers) must never run: the driver's path is set
    // both ways Selenium reads it, and anything the manager logs fails the test (checked at the end).
    Logger manager = Logger.getLogger(MANAGER_LOGGER);
    manager.setLevel(Level.ALL);
    manager.addHandler(seleniumManagerWatch);
    Logger finder = Logger.getLogger(FINDER_LOGGER);
    finder.setLevel(Level.ALL);
    finder.addHandler(driverFinderWatch);
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER);
    userDataDir = Files.createTempDirectory("conduit-chromium-");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-default-apps", "--user-data-dir=" + userDataDir, "--window-size=1280,900");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
    wait = new WebDriverWait(browser, WAIT);
    // The live pages refill their tables every few seconds: an element found just before may be replaced.
    wait.ignoring(StaleElementReferenceException.class);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (browser != null) {
        browser.quit();
      }
    } finally {
      Logger.getLogger(MANAGER_LOGGER).removeHandler(seleniumManagerWatch);
      Logger.getLogger(FINDER_LOGGER).removeHandler(driverFinderWatch);
      if (instance != null) {
        instance.close();
      }
      if (hub != null) {
        hub.close();
      }
      if (destination != null) {
        destination.close();
      }
      TestServer.close(server, database);
      if (userDataDir != null) {
        deleteTree(userDataDir);
      }
    }
  }

  @Test
  @Order(1)
  void wrongTokenIsRefused() throws Exception {
    browser.get(server.httpBase() + "/ui");
    WebElement field = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-token")));
    screenshot("login");
    field.sendKeys("not-the-token", Keys.ENTER);
    wait.until(ExpectedConditions.textToBe(By.id("login-error"), "Wrong admin token."));
    assertFalse(browser.findElement(By.id("nav")).isDisplayed());
    assertFalse(browser.findElement(By.id("page-overview")).isDisplayed());
    assertNull(js("return sessionStorage.getItem('conduit.adminToken')"));
    assertFalse(browser.getCurrentUrl().contains("not-the-token"), browser.getCurrentUrl());
  }

  @Test
  @Order(2)
  void signInByKeyboardShowsTheLiveOverview() throws Exception {
    WebElement field = browser.findElement(By.id("login-token"));
    field.clear();
    field.sendKeys(TOKEN, Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-overview")));
    assertFalse(browser.getCurrentUrl().contains(TOKEN), "the token never goes into a URL");
    assertEquals(TOKEN, js("return sessionStorage.getItem('conduit.adminToken')"));
    wait.until(ExpectedConditions.textToBe(By.id("ov-hubs"), "1 / 2"));
    wait.until(ExpectedConditions.textToBe(By.id("ov-instances"), "1"));
    WebElement hubs = browser.findElement(By.id("ov-hub-table"));
    wait.until(d -> hubs.getText().contains("home") && hubs.getText().contains("connected")
        && hubs.getText().contains("away") && hubs.getText().contains("disconnected"));
    // The hub's heartbeat age appears once it has answered one of the edge's heartbeats (every second here).
    wait.until(d -> hubs.getText().matches("(?s).*home\\s+connected\\s+(just now|\\d+ s ago).*"));
    wait.until(d -> browser.findElement(By.id("ov-endpoints")).getText().contains("github-push"));
  }

  @Test
  @Order(3)
  void aWebhookArrivesLiveIsOpenedAndReplayed() throws Exception {
    browser.get(server.httpBase() + "/ui/#/webhooks");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-webhooks")));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("wh-page"), "Page 1"));
    js("window.__sameDocument = true");

    webhookId = api.ingestOk(endpointId, "{\"action\":\"push\",\"ref\":\"refs/heads/main\",\"commits\":[1,2]}");
    By row = By.cssSelector("#wh-table tr[data-webhook-id='" + webhookId + "']");
    wait.until(ExpectedConditions.presenceOfElementLocated(row));
    // The destination answers 400 (a permanent failure): the row turns failed, still without a reload.
    wait.until(ExpectedConditions.attributeToBe(row, "data-status", "failed"));
    assertEquals(Boolean.TRUE, js("return window.__sameDocument === true"), "the page was not reloaded");
    new Select(browser.findElement(By.id("wh-status"))).selectByValue("failed");
    wait.until(d -> d.findElements(By.cssSelector("#wh-table tbody tr")).size() == 1
        && !d.findElements(row).isEmpty());
    screenshot("webhooks");

    // Opened from the keyboard.
    browser.findElement(By.cssSelector("button[data-webhook-id='" + webhookId + "']")).sendKeys(Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("wh-detail")));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("whd-body-kind"), "JSON"));
    String body = browser.findElement(By.id("whd-body")).getText();
    assertTrue(body.contains("\"action\": \"push\",\n  \"ref\": \"refs/heads/main\""), body);
    assertTrue(browser.findElement(By.id("whd-headers")).getText().contains("content-type application/json"),
        browser.findElement(By.id("whd-headers")).getText());
    assertEquals("400", browser.findElement(By.id("whd-code")).getText());
    assertFalse(browser.findElement(By.id("whd-error")).getText().isBlank());
    WebElement replay = browser.findElement(By.id("whd-replay"));
    assertTrue(replay.isDisplayed());
    screenshot("webhook-detail");

    destinationStatus.set(200);
    replay.click();
    wait.until(ExpectedConditions.textToBe(By.id("whd-replay-result"), "Replayed: queued for delivery again."));
    wait.until(ExpectedConditions.attributeToBe(By.id("wh-detail"), "data-status", "delivered"));
    assertFalse(browser.findElement(By.id("whd-replay")).isDisplayed(), "a delivered webhook cannot be replayed");
    assertEquals(2, destination.requests("/hooks/github").size());
    assertEquals("delivered", api.webhook(webhookId).path("status").asText());
  }

  @Test
  @Order(4)
  void historyIsPagedAndFilteredByEndpoint() throws Exception {
    // 26 more webhooks, all delivered: 27 on this endpoint, so pages of 25 make two.
    for (int i = 0; i < 26; i++) {
      api.ingestOk(endpointId, "{\"n\":" + i + "}");
    }
    EdgeApi.awaitValue(() -> {
      try {
        return api.admin("GET", "/api/webhooks?status=delivered&endpoint=" + endpointId + "&limit=1000", null)
            .json().path("webhooks").size();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, n -> n == 27, WAIT, "27 delivered webhooks");
    browser.get(server.httpBase() + "/ui/#/webhooks");
    wait.until(d -> new Select(d.findElement(By.id("wh-endpoint"))).getOptions().size() == 2);
    new Select(browser.findElement(By.id("wh-status"))).selectByValue(""); // the previous step filtered on failed
    new Select(browser.findElement(By.id("wh-endpoint"))).selectByValue(endpointId);
    new Select(browser.findElement(By.id("wh-limit"))).selectByValue("25");
    By rows = By.cssSelector("#wh-table tbody tr");
    wait.until(d -> d.findElements(rows).size() == 25);
    WebElement older = browser.findElement(By.id("wh-older"));
    wait.until(ExpectedConditions.elementToBeClickable(older)).click();
    wait.until(ExpectedConditions.textToBe(By.id("wh-page"), "Page 2"));
    wait.until(d -> d.findElements(rows).size() == 2);
    // The oldest webhook of the endpoint is the replayed one, on the last page.
    assertFalse(browser.findElements(By.cssSelector("#wh-table tr[data-webhook-id='" + webhookId + "']")).isEmpty());
    assertFalse(older.isEnabled());
    browser.findElement(By.id("wh-newer")).click();
    wait.until(ExpectedConditions.textToBe(By.id("wh-page"), "Page 1"));
    wait.until(d -> d.findElements(rows).size() == 25);
  }

  @Test
  @Order(5)
  void endpointsAreCreatedEditedAndDeleted() throws Exception {
    browser.get(server.httpBase() + "/ui/#/endpoints");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-endpoints")));
    wait.until(d -> !new Select(d.findElement(By.id("ep-hub"))).getOptions().isEmpty());

    browser.findElement(By.id("ep-name")).sendKeys("stripe-payments");
    new Select(browser.findElement(By.id("ep-provider"))).selectByValue("stripe");
    browser.findElement(By.id("ep-secret")).sendKeys("whsec_test");
    browser.findElement(By.id("ep-destination")).sendKeys("http://billing.lan/stripe");
    new Select(browser.findElement(By.id("ep-hub"))).selectByValue("away");
    browser.findElement(By.id("ep-save")).click();
    By created = By.cssSelector("#ep-table tr[data-endpoint-name='stripe-payments']");
    wait.until(ExpectedConditions.presenceOfElementLocated(created));
    JsonNode stored = endpointNamed("stripe-payments");
    assertEquals("stripe", stored.path("provider").asText());
    assertTrue(stored.path("has_secret").asBoolean());
    String id = stored.path("id").asText();
    assertEquals(server.httpBase() + "/h/" + id,
        wait.until(d -> d.findElement(created).findElement(By.className("ingest-url")).getText()));

    // Copy puts the ingest URL on the clipboard (permission granted as a user would).
    browser.executeCdpCommand("Browser.grantPermissions", Map.of("permissions",
        List.of("clipboardReadWrite", "clipboardSanitizedWrite")));
    clickIn(created, "Copy");
    wait.until(ExpectedConditions.textToBe(By.id("ep-result"), "Copied the ingest URL of stripe-payments."));
    assertEquals(server.httpBase() + "/h/" + id, ((JavascriptExecutor) browser).executeAsyncScript(
        "const done = arguments[arguments.length - 1]; navigator.clipboard.readText().then(done, e => done('' + e));"));

    // Edit: the name changes, the secret is kept.
    clickIn(created, "Edit");
    WebElement name = browser.findElement(By.id("ep-name"));
    wait.until(d -> "stripe-payments".equals(name.getDomProperty("value")));
    name.clear();
    name.sendKeys("stripe-billing");
    browser.findElement(By.id("ep-save")).click();
    By renamed = By.cssSelector("#ep-table tr[data-endpoint-name='stripe-billing']");
    wait.until(ExpectedConditions.presenceOfElementLocated(renamed));
    assertTrue(endpointNamed("stripe-billing").path("has_secret").asBoolean(), "an empty secret field keeps it");

    // Hub "away" is not connected: a webhook stays queued, and deleting is refused with webhooks_queued.
    // The queue depth updates live, without a reload.
    js("window.__sameDocument = true");
    api.ingestOk(id, "{\"type\":\"charge.succeeded\"}");
    wait.until(d -> "1".equals(d.findElement(renamed).findElements(By.tagName("td")).get(4).getText()));
    assertEquals(Boolean.TRUE, js("return window.__sameDocument === true"), "the page was not reloaded");
    screenshot("endpoints");
    clickIn(renamed, "Delete");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("ep-refusal")));
    String refusal = browser.findElement(By.id("ep-refusal-text")).getText();
    assertTrue(refusal.contains("webhooks_queued") && refusal.contains("1 webhook"), refusal);
    assertFalse(browser.findElements(renamed).isEmpty(), "refused: the endpoint is still listed");
    browser.findElement(By.id("ep-force")).click();
    wait.until(ExpectedConditions.invisibilityOfElementLocated(renamed));
    wait.until(ExpectedConditions.textToBe(By.id("ep-result"), "Deleted stripe-billing."));
    assertEquals(404, api.admin("GET", "/api/endpoints/" + id, null).status());

    // A fresh endpoint with nothing queued is deleted at once.
    browser.findElement(By.id("ep-name")).sendKeys("short-lived");
    browser.findElement(By.id("ep-destination")).sendKeys("http://tmp.lan/x");
    browser.findElement(By.id("ep-save")).click();
    By shortLived = By.cssSelector("#ep-table tr[data-endpoint-name='short-lived']");
    wait.until(ExpectedConditions.presenceOfElementLocated(shortLived));
    clickIn(shortLived, "Delete");
    wait.until(ExpectedConditions.invisibilityOfElementLocated(shortLived));
    assertFalse(browser.findElement(By.id("ep-refusal")).isDisplayed());
  }

  @Test
  @Order(6)
  void instancesAreLookedUpById() throws Exception {
    browser.get(server.httpBase() + "/ui/#/instances");
    WebElement id = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("in-id")));
    id.sendKeys("no-such-instance", Keys.ENTER);
    wait.until(ExpectedConditions.textToBe(By.id("in-error"), "No instance with id no-such-instance has registered."));
    id.clear();
    id.sendKeys("living-room-server", Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("in-result")));
    assertEquals("online", browser.findElement(By.id("in-r-online")).getText());
    assertEquals("0", browser.findElement(By.id("in-r-sessions")).getText());
    assertEquals("http://192.168.1.10:8096", browser.findElement(By.id("in-r-urls")).getText());
    // A client session opens and closes: the shown instance follows, without a reload.
    js("window.__sameDocument = true");
    try (SimulatedClient client = SimulatedClient.connectToInstance(server.wsBase(), "living-room-server", WAIT)) {
      assertEquals("ok", new String(client.echo("ok".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
          java.nio.charset.StandardCharsets.UTF_8));
      wait.until(ExpectedConditions.textToBe(By.id("in-r-sessions"), "1"));
      screenshot("instances");
    }
    wait.until(ExpectedConditions.textToBe(By.id("in-r-sessions"), "0"));
    assertEquals(Boolean.TRUE, js("return window.__sameDocument === true"), "the page was not reloaded");
  }

  @Test
  @Order(7)
  void readableOnAPhone() throws Exception {
    browser.manage().window().setSize(new Dimension(390, 844));
    wait.until(d -> ((Number) js("return window.innerWidth")).intValue() <= 400);
    try {
      browser.get(server.httpBase() + "/ui/#/overview");
      wait.until(ExpectedConditions.textToBe(By.id("ov-hubs"), "1 / 2"));
      wait.until(d -> browser.findElement(By.id("ov-endpoints")).getText().contains("github-push"));
      assertNoHorizontalOverflow("overview");
      screenshot("overview-phone");

      browser.get(server.httpBase() + "/ui/#/webhooks");
      By open = By.cssSelector("#wh-table button[data-webhook-id]"); // the newest on the page the filters show
      // Visible, not just present: the rows of the last visit are in the DOM before the page is shown again.
      wait.until(ExpectedConditions.elementToBeClickable(open));
      assertNoHorizontalOverflow("webhooks");
      browser.findElement(open).sendKeys(Keys.ENTER);
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("whd-body-kind"), "JSON"));
      assertNoHorizontalOverflow("webhook detail");
      screenshot("webhook-detail-phone");

      browser.get(server.httpBase() + "/ui/#/endpoints");
      wait.until(d -> d.findElement(By.id("ep-table")).getText().contains("github-push"));
      assertNoHorizontalOverflow("endpoints");

      browser.get(server.httpBase() + "/ui/#/instances");
      WebElement id = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("in-id")));
      id.clear();
      id.sendKeys("living-room-server", Keys.ENTER);
      wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("in-result")));
      assertNoHorizontalOverflow("instances");
    } finally {
      browser.manage().window().setSize(new Dimension(1280, 900));
      wait.until(d -> ((Number) js("return window.innerWidth")).intValue() > 1000);
    }
    browser.get(server.httpBase() + "/ui/#/overview");
    wait.until(d -> browser.findElement(By.id("ov-statuses")).getText().contains("delivered"));
    // The throughput is a rate between two polls: wait for the second.
    wait.until(ExpectedConditions.textMatches(By.id("ov-throughput"), Pattern.compile(".*/s$")));
    screenshot("overview");
  }

  /**
   * Sign in, move between pages, open a webhook, replay it, create and delete an endpoint, sign out: with
   * Tab, Shift+Tab, Enter and Space only, each control reached in the page's tab order and showing a
   * visible focus ring when reached. Meanwhile the pages poll and refill their tables; the focus stays.
   * Every page's interactive controls have an accessible name (Chromium's accessibility tree).
   */
  @Test
  @Order(8)
  void everythingCanBeDoneWithTheKeyboardAndEveryControlHasAName() throws Exception {
    destinationStatus.set(400);
    String failed = api.ingestOk(endpointId, "{\"keyboard\":true}");
    api.awaitStatus(failed, "failed", WAIT);

    js("sessionStorage.clear()");
    browser.get(server.httpBase() + "/ui/#/overview");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-token")));
    assertAllControlsNamed("sign-in page");
    tabTo("#login-token", false);
    keys(TOKEN, Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-overview")));
    wait.until(ExpectedConditions.textToBe(By.id("ov-hubs"), "1 / 2"));
    assertAllControlsNamed("overview");

    tabTo("#nav a[data-page='webhooks']", false);
    keys(Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-webhooks")));
    assertEquals("page", browser.findElement(By.cssSelector("#nav a[data-page='webhooks']")).getAttribute("aria-current"));
    String open = "button[data-webhook-id='" + failed + "']";
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(open)));
    tabTo(open, false);
    // A poll refills the table (its rows are new elements) while the focus is on the row's button: the
    // button in the new row gets it back.
    js("window.__firstRow = document.querySelector('#wh-table tbody').firstElementChild");
    wait.until(d -> Boolean.TRUE.equals(
        js("return document.querySelector('#wh-table tbody').firstElementChild !== window.__firstRow")));
    assertEquals(Boolean.TRUE, js("return document.activeElement.matches(arguments[0])", open),
        "the focus stayed on the webhook's button across a refresh");
    keys(Keys.ENTER);
    wait.until(ExpectedConditions.attributeToBe(By.id("wh-detail"), "data-status", "failed"));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("whd-body-kind"), "JSON"));
    assertAllControlsNamed("webhook detail");
    destinationStatus.set(200);
    tabTo("#whd-replay", false);
    keys(Keys.SPACE);
    wait.until(ExpectedConditions.textToBe(By.id("whd-replay-result"), "Replayed: queued for delivery again."));
    wait.until(ExpectedConditions.attributeToBe(By.id("wh-detail"), "data-status", "delivered"));

    tabTo("#nav a[data-page='endpoints']", true);
    keys(Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-endpoints")));
    wait.until(d -> d.findElement(By.id("ep-table")).getText().contains("github-push"));
    assertAllControlsNamed("endpoints");
    tabTo("#ep-name", false);
    keys("keyboard-made");
    tabTo("#ep-destination", false);
    keys("http://keyboard.lan/hook");
    tabTo("#ep-save", false);
    keys(Keys.ENTER);
    By made = By.cssSelector("#ep-table tr[data-endpoint-name='keyboard-made']");
    wait.until(ExpectedConditions.presenceOfElementLocated(made));
    endpointNamed("keyboard-made");
    tabTo("#ep-table button[aria-label='Delete keyboard-made']", true);
    keys(Keys.SPACE);
    wait.until(ExpectedConditions.textToBe(By.id("ep-result"), "Deleted keyboard-made."));
    assertTrue(browser.findElements(made).isEmpty());

    tabTo("#nav a[data-page='instances']", true);
    keys(Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-instances")));
    tabTo("#in-id", false);
    new Actions(browser).keyDown(Keys.CONTROL).sendKeys("a").keyUp(Keys.CONTROL).perform(); // the id typed before
    keys("living-room-server", Keys.ENTER);
    wait.withMessage(() -> "instance lookup: field '" + browser.findElement(By.id("in-id")).getDomProperty("value")
            + "', error '" + browser.findElement(By.id("in-error")).getText() + "'")
        .until(ExpectedConditions.visibilityOfElementLocated(By.id("in-result")));
    assertAllControlsNamed("instances");

    tabTo("#logout", true);
    keys(Keys.ENTER);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-token")));
    assertNull(js("return sessionStorage.getItem('conduit.adminToken')"));
    browser.manage().window().setSize(new Dimension(390, 844));
    try {
      wait.until(d -> ((Number) js("return window.innerWidth")).intValue() <= 400);
      assertNoHorizontalOverflow("sign-in page");
      screenshot("login-phone");
    } finally {
      browser.manage().window().setSize(new Dimension(1280, 900));
      wait.until(d -> ((Number) js("return window.innerWidth")).intValue() > 1000);
    }
  }

  /** Presses Tab (or Shift+Tab) until the focused element matches css; fails if it is never reached. */
  private void tabTo(String css, boolean backwards) {
    for (int presses = 0; presses <= MAX_TABS; presses++) {
      if (Boolean.TRUE.equals(js("return !!document.activeElement && document.activeElement.matches(arguments[0])", css))) {
        assertEquals(Boolean.TRUE, js("const e = document.activeElement; const s = getComputedStyle(e);"
            + " return e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2"),
            css + " has no visible focus ring");
        return;
      }
      if (backwards) {
        new Actions(browser).keyDown(Keys.SHIFT).sendKeys(Keys.TAB).keyUp(Keys.SHIFT).perform();
      } else {
        new Actions(browser).sendKeys(Keys.TAB).perform();
      }
    }
    throw new AssertionError(css + " not reached in " + MAX_TABS + " presses of " + (backwards ? "Shift+Tab" : "Tab")
        + "; focus on " + js("return document.activeElement.outerHTML.slice(0, 200)"));
  }

  /** Clicks the button labelled text in the table row row, finding both again if a refill replaced them. */
  private void clickIn(By row, String text) {
    wait.until(d -> {
      d.findElement(row).findElement(By.xpath(".//button[text()='" + text + "']")).click();
      return true;
    });
  }

  private void keys(CharSequence... keys) {
    new Actions(browser).sendKeys(keys).perform();
  }

  /** No page wider than the screen: wide tables and bodies scroll inside their own boxes. */
  private void assertNoHorizontalOverflow(String page) {
    Object overflow = js("const w = document.documentElement.clientWidth; const out = [];"
        + " if (document.documentElement.scrollWidth > w) out.push('document ' + document.documentElement.scrollWidth + ' > ' + w);"
        + " return out.join('; ');");
    assertEquals("", overflow, page + " overflows the phone's width");
  }

  /** Every focusable control Chromium exposes (button, link, text field, list box, …) has a non-empty name. */
  @SuppressWarnings("unchecked")
  private void assertAllControlsNamed(String page) {
    Map<String, Object> tree = browser.executeCdpCommand("Accessibility.getFullAXTree", Map.of());
    List<String> unnamed = new ArrayList<>();
    int controls = 0;
    for (Map<String, Object> node : (List<Map<String, Object>>) tree.get("nodes")) {
      if (Boolean.TRUE.equals(node.get("ignored"))) {
        continue;
      }
      Map<String, Object> role = (Map<String, Object>) node.get("role");
      String roleName = role == null ? "" : String.valueOf(role.get("value"));
      if (!CONTROL_ROLES.contains(roleName)) {
        continue;
      }
      controls++;
      Map<String, Object> name = (Map<String, Object>) node.get("name");
      if (name == null || String.valueOf(name.get("value")).isBlank()) {
        unnamed.add(roleName + " (backend node " + node.get("backendDOMNodeId") + ")");
      }
    }
    assertTrue(controls > 0, page + ": no controls found in the accessibility tree");
    assertTrue(unnamed.isEmpty(), page + ": controls without an accessible name: " + unnamed);
  }

  @Test
  @Order(9)
  void noConsoleErrorsAndNoSeleniumManager() throws IOException {
    String driver = Path.of(CHROMEDRIVER).toRealPath().toString(); // Selenium logs the symlink resolved
    List<LogEntry> errors = browser.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
        // The refused sign-in's 401 and the refused delete's 409 are expected answers, logged by the browser.
        .filter(e -> !e.getMessage().contains("status of 401") && !e.getMessage().contains("status of 409")
            && !e.getMessage().contains("status of 404"))
        .toList();
    assertTrue(errors.isEmpty(), "console errors (a CSP violation would be one): " + errors);
    synchronized (seleniumManagerRecords) {
      assertTrue(seleniumManagerRecords.isEmpty(), "Selenium Manager ran: "
          + seleniumManagerRecords.stream().map(LogRecord::getMessage).toList());
    }
    // And positively: Selenium's driver lookup said it skipped the manager for the path we gave.
    synchronized (driverFinderRecords) {
      assertTrue(driverFinderRecords.stream().anyMatch(r -> String.valueOf(r.getMessage())
              .startsWith("Skipping Selenium Manager") && r.getMessage().endsWith(": " + driver)),
          "driver lookup: " + driverFinderRecords.stream().map(LogRecord::getMessage).toList());
    }
  }

  private static Handler recordInto(List<LogRecord> records) {
    return new Handler() {
      @Override
      public void publish(LogRecord record) {
        synchronized (records) {
          records.add(record);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
  }

  private JsonNode endpointNamed(String name) throws Exception {
    for (JsonNode e : api.admin("GET", "/api/endpoints", null).json().path("endpoints")) {
      if (e.path("name").asText().equals(name)) {
        return e;
      }
    }
    throw new AssertionError("no endpoint named " + name);
  }

  private Object js(String script, Object... args) {
    return ((JavascriptExecutor) browser).executeScript(script, args);
  }

  private void screenshot(String name) throws IOException {
    Files.write(screenshots.resolve(name + ".png"), browser.getScreenshotAs(OutputType.BYTES));
  }

  private static void deleteTree(Path root) throws IOException {
    try (var paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
